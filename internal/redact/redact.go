// Package redact hides Slack secrets (tokens, webhook and response_url paths, socket tickets,
// credentials in URLs and headers) in text, errors, panic values and log lines on their way out.
//
// # What counts as a secret
//
// A secret starts at a recognised prefix (xoxb-, xapp-, /services/T…/, ticket=, user:pass@, …)
// anywhere in the text, even inside a word or right after an ANSI escape, and runs to the next
// space, quote, bracket, comma, semicolon, & or |. A control character or a backslash escape never
// ends it: "xoxb-1\x00SECRET" and the %q form "xoxb-1\x00SECRET" are hidden whole. This hides a
// little more than the secret now and then, never less.
package redact

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// run is one character of a secret: a backslash escape (whatever it escapes), or anything but a
// space and the delimiters.
const run = `(?:\\.|[^ "'<>()\[\]{},;&|` + "`" + `])`

// patterns are the secret shapes. Each has exactly one capturing group: the part that is kept;
// what follows it in the match is replaced by "…".
var patterns = []string{
	`((?:xox[a-z]|xapp)-)` + run + `*`,                                  // tokens
	`(/(?:services|commands|actions)/(?:[a-z0-9]{1,32}/)?)` + run + `+`, // webhook, response_url
	`(/app/(?-i:[A-Z0-9][A-Z0-9\x00-\x1f\x7f]{1,31})/)` + run + `+`,     // response_url; not /app/main.go
	`((?:^|[ "'=]|://[^/ "']*)/(?:websocket|link)/)` + run + `+`,        // RTM and Socket Mode tickets; not gorilla/websocket/
	`([a-z_]*(?:token|secret|ticket|password|passwd)=)` + run + `+`,     // query and form values
	`((?:proxy-)?authorization: *(?:bearer +|basic +)?)` + run + `+`,    // headers
	`([a-z][a-z0-9+.\-]*://)[^/?# "'<>]+@`,                              // user:pass@ in URLs
}

var secretRE = regexp.MustCompile(`(?is)` + strings.Join(patterns, "|"))

// String replaces every secret found in s; see the package doc.
func String(s string) string {
	idx := secretRE.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, m := range idx {
		b.WriteString(s[last:m[0]])
		g := 1
		for m[2*g] < 0 {
			g++
		}
		b.WriteString(s[m[2*g]:m[2*g+1]])
		b.WriteString("…")
		if g == len(patterns) { // user:pass@ keeps its @
			b.WriteString("@")
		}
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// Token returns the token's prefix ("xoxb-", "xapp-", …) followed by "…", or "" for an empty token.
func Token(tok string) string {
	if tok == "" {
		return ""
	}
	if i := strings.IndexByte(tok, '-'); i > 0 && i < 6 && printable(tok[:i]) {
		return tok[:i+1] + "…"
	}
	return "…"
}

// URL returns the scheme and host of u, with the path replaced by "/…" when it has one; secret-bearing
// webhook, response_url and socket URLs thus log as their host only. A URL that does not parse (a
// control character in it, say) gives what precedes its path, redacted, and "/…".
func URL(u string) string {
	p, err := url.Parse(u)
	if err == nil && p.Host != "" {
		s := p.Scheme + "://" + p.Host
		if p.Path != "" && p.Path != "/" || p.RawQuery != "" || p.Fragment != "" {
			s += "/…"
		}
		return String(s)
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return String(u)
	}
	host, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, tail = rest[:i], rest[i:]
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = "…@" + host[i+1:]
	}
	s := String(scheme + "://" + host)
	if tail != "" && tail != "/" {
		s += "/…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// Value returns v as fmt.Sprint prints it, redacted: for panic values and other values of unknown
// type on their way to a log or an error.
func Value(v any) string { return String(fmt.Sprint(v)) }

// Error returns an error whose text is err's, redacted, and which unwraps to err, so errors.Is and
// errors.As still reach the original (whose own text is not redacted: do not print what As finds
// without redacting it). Nil stays nil; an error Error returned is returned as it is.
func Error(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*redacted); ok {
		return err
	}
	return &redacted{msg: String(err.Error()), err: err}
}

// redacted is an error with its text redacted.
type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
