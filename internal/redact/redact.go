// Package redact hides Slack secrets (tokens, webhook and response_url paths, socket tickets) in text
// that is about to be logged or shown.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

var (
	tokenRE  = regexp.MustCompile(`\b(xox[abposre]|xapp)-[A-Za-z0-9-]+`)
	hookRE   = regexp.MustCompile(`/(services|commands|actions|app)/([A-Za-z0-9]+)/[A-Za-z0-9/_-]+`)
	ticketRE = regexp.MustCompile(`(?i)(ticket=|/websocket/|/link/)[A-Za-z0-9_.%-]+`)
)

// Token returns the token's prefix ("xoxb-", "xapp-", …) followed by "…", or "" for an empty token.
func Token(tok string) string {
	if tok == "" {
		return ""
	}
	if i := strings.IndexByte(tok, '-'); i > 0 && i < 6 {
		return tok[:i+1] + "…"
	}
	return "…"
}

// URL returns the scheme and host of u, with the path replaced by "/…" when it has one; secret-bearing
// webhook, response_url and socket URLs thus log as their host only.
func URL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return String(u)
	}
	s := p.Scheme + "://" + p.Host
	if p.Path != "" && p.Path != "/" || p.RawQuery != "" {
		s += "/…"
	}
	return s
}

// String replaces every token, webhook or response_url secret and socket ticket found in s.
func String(s string) string {
	s = tokenRE.ReplaceAllString(s, "$1-…")
	s = hookRE.ReplaceAllString(s, "/$1/$2/…")
	return ticketRE.ReplaceAllString(s, "$1…")
}
