package ops_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/ops"
)

// describer is a Registerer that keeps the name of every metric registered on it.
type describer struct{ names map[string]bool }

var fqNameRE = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { // owner: Register. Ends once Describe returned; Register reads until then.
		c.Describe(ch)
		close(ch)
	}()
	for desc := range ch {
		if m := fqNameRE.FindStringSubmatch(desc.String()); m != nil {
			d.names[m[1]] = true
		}
	}
	return nil
}

func (d *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}

func (d *describer) Unregister(prometheus.Collector) bool { return false }

// exported returns the names of the metrics ops registers with default options.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	rt, err := switchboard.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rt.Stop(ctx)
	})
	d := &describer{names: map[string]bool{}}
	if _, err := ops.New(rt, ops.Options{Registerer: d, Gatherer: prometheus.NewRegistry()}); err != nil {
		t.Fatal(err)
	}
	return d.names
}

type dashPanel struct {
	Title   string `json:"title"`
	Type    string `json:"type"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"` // a collapsed row's
}

var (
	quotedRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	varRE    = regexp.MustCompile(`\$\{?\w+\}?`)
	nameRE   = regexp.MustCompile(`\b(?:switchboard|go|process)_[a-zA-Z0-9_:]+`)
)

// metricNames returns the metric names a PromQL expression reads (those ops or its Go and process
// collectors could export).
func metricNames(expr string) []string {
	expr = quotedRE.ReplaceAllString(expr, `""`)
	expr = varRE.ReplaceAllString(expr, "")
	return nameRE.FindAllString(expr, -1)
}

// Every panel of the shipped Grafana dashboard queries metrics that ops exports by default.
func TestDashboardQueriesExportedMetrics(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../docs/grafana/switchboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels     []dashPanel `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	names := exported(t)
	has := func(n string) bool {
		if names[n] {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(n, suffix); ok && names[base] {
				return true
			}
		}
		return false
	}
	var panels []dashPanel
	for _, p := range dash.Panels {
		panels = append(panels, p)
		panels = append(panels, p.Panels...)
	}
	queried := 0
	for _, p := range panels {
		if p.Type == "row" {
			continue
		}
		queried++
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			ms := metricNames(tg.Expr)
			if len(ms) == 0 {
				t.Errorf("panel %q: %q names no metric", p.Title, tg.Expr)
			}
			for _, m := range ms {
				if !has(m) {
					t.Errorf("panel %q: %q queries %s, which ops does not export", p.Title, tg.Expr, m)
				}
			}
		}
	}
	for _, v := range dash.Templating.List {
		for _, m := range metricNames(v.Definition) {
			if !has(m) {
				t.Errorf("variable %q queries %s, which ops does not export", v.Definition, m)
			}
		}
	}
	if queried < 10 {
		t.Errorf("only %d panels", queried)
	}
	for _, perLink := range []string{"switchboard_link_state", "switchboard_link_reconnects_total"} {
		if names[perLink] {
			t.Errorf("%s exported by default; per-link series are opt-in", perLink)
		}
	}
}
