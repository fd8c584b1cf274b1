package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// config runs the demo's bot against real Slack. Every field can also come from the environment
// (named after each field); a -config file wins over the environment.
type config struct {
	// AppID names the Socket Mode app in link names. Default "app". (SLACK_APP_ID)
	AppID string `yaml:"app_id"`
	// AppToken is the app-level token (xapp-) with connections:write. (SLACK_APP_TOKEN)
	AppToken string `yaml:"app_token"`
	// Connections is how many Socket Mode sockets to keep open, 1 to 10. Default 2. (SLACK_CONNECTIONS)
	Connections int `yaml:"connections"`
	// BotTokens maps team ID to the app's bot token (xoxb-) in that workspace.
	// (SLACK_BOT_TOKENS="T1=xoxb-…,T2=xoxb-…")
	BotTokens map[string]string `yaml:"bot_tokens"`
	// RTMTokens maps team ID to a classic app's bot token, for RTM workspaces. (SLACK_RTM_TOKENS)
	RTMTokens map[string]string `yaml:"rtm_tokens"`
	// WebhookURL is an incoming webhook for notifications (reconnects, fatal stops). (SLACK_WEBHOOK_URL)
	WebhookURL string `yaml:"webhook_url"`
	// APIURL is the Web API base. Default https://slack.com/api/. (SLACK_API_URL)
	APIURL string `yaml:"api_url"`
}

// loadConfig reads path (YAML) if set, else the environment; it returns nil when neither names
// an app token or an RTM token, meaning: run the embedded scene.
func loadConfig(path string) (*config, error) {
	c := &config{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := yaml.Unmarshal(data, c); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	} else {
		c.AppID = os.Getenv("SLACK_APP_ID")
		c.AppToken = os.Getenv("SLACK_APP_TOKEN")
		c.WebhookURL = os.Getenv("SLACK_WEBHOOK_URL")
		c.APIURL = os.Getenv("SLACK_API_URL")
		if v := os.Getenv("SLACK_CONNECTIONS"); v != "" {
			if _, err := fmt.Sscanf(v, "%d", &c.Connections); err != nil {
				return nil, fmt.Errorf("SLACK_CONNECTIONS=%q is not a number", v)
			}
		}
		var err error
		if c.BotTokens, err = parseTokens("SLACK_BOT_TOKENS"); err != nil {
			return nil, err
		}
		if c.RTMTokens, err = parseTokens("SLACK_RTM_TOKENS"); err != nil {
			return nil, err
		}
		if c.AppToken == "" && len(c.RTMTokens) == 0 {
			return nil, nil
		}
	}
	if c.AppToken == "" && len(c.RTMTokens) == 0 {
		return nil, errors.New("config: set app_token (Socket Mode) or rtm_tokens")
	}
	if c.AppID == "" {
		c.AppID = "app"
	}
	if c.Connections == 0 {
		c.Connections = 2
	}
	return c, nil
}

// parseTokens reads "T1=tok,T2=tok" from the environment variable name.
func parseTokens(name string) (map[string]string, error) {
	v := os.Getenv(name)
	if v == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		team, tok, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || team == "" || tok == "" {
			return nil, fmt.Errorf("%s: want team=token pairs separated by commas", name) // never echo a token
		}
		out[team] = tok
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
