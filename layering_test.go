package switchboard_test

import (
	"go/build"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/switchboard-go/switchboard"

// The layering docs/architecture.md describes, checked on the non-test imports of every package:
// the vocabulary and the leaves import nothing of ours, only the root reaches the engine, and
// programs and ops use the public API alone.
func TestLayering(t *testing.T) {
	// ours lists, for the packages it names, every package of this module they may import.
	ours := map[string][]string{
		"messages":                     {},
		"internal/wire":                {},
		"internal/redact":              {},
		"internal/logbridge":           {},
		"actors":                       {"messages"},
		"supervisor":                   {"messages"},
		"webhook":                      {"messages", "internal/redact", "internal/logbridge"},
		"fakeslack":                    {"internal/redact"},
		"internal/engine":              {"messages", "supervisor", "internal/wire", "internal/redact"},
		"ops":                          {".", "messages", "webhook"},
		"cmd/demo":                     {".", "messages", "ops", "webhook", "fakeslack"},
		"examples/bot":                 {".", "messages"},
		"examples/httpbot":             {".", "installstore", "installstore/sqlitestore", "oauth"},
		"cmd/demo-install":             {".", "fakeslack", "installstore", "installstore/sqlitestore", "oauth"},
		"cmd/fakeslack":                {"fakeslack", "internal/redact"},
		".":                            {"messages", "supervisor", "webhook", "internal/engine", "internal/redact", "internal/logbridge", "installstore", "internal/clusterlink", "cluster/clusterpb"},
		"cluster":                      {"cluster/clusterpb", "internal/clusterlink", "internal/logbridge"},
		"internal/clusterlink":         {"cluster/clusterpb"},
		"cluster/clusterpb":            {},
		"internal/etcdtest":            {},
		"cmd/demo-cluster":             {".", "cluster", "fakeslack", "ops"},
		"installstore":                 {},
		"oauth":                        {"installstore"},
		"installstore/sqlitestore":     {"installstore"},
		"installstore/pgstore":         {"installstore"},
		"installstore/storetest":       {"installstore"},
		"internal/loadgen":             {},
		"internal/pgtest":              {},
		"internal/loadgen/cmd/loadgen": {"internal/loadgen"},
		"internal/loadgen/cmd/loadgen-switchboard": {".", "internal/loadgen"},
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go package here (or tests only)
		}
		rel := filepath.ToSlash(path)
		seen[rel] = true
		allowed, checked := ours[rel]
		for _, imp := range pkg.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if dep == "" {
				dep = "."
			}
			switch {
			case checked && !slices.Contains(allowed, dep):
				t.Errorf("%s imports %s; docs/architecture.md's layering allows %v", rel, dep, allowed)
			case !checked && dep == "internal/engine":
				t.Errorf("%s imports internal/engine: only the root does", rel)
			case !checked && strings.HasPrefix(dep, "internal/") && !strings.HasPrefix(rel, "internal/"):
				t.Errorf("%s imports %s: programs use the public API only", rel, dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range ours {
		if !seen[rel] {
			t.Errorf("no package %s: update the layering here and in docs/architecture.md", rel)
		}
	}
}

// A bot that does not join a cluster does not carry the cluster's code: the root package links
// none of protoactor's cluster and remote, gRPC, etcd's client or the SQL drivers (package cluster
// brings them, through WithCluster's Config). They took a bot's binary from about 16 MB to 44.
func TestRootLinksNoClusterCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, heavy := range []string{"google.golang.org/grpc", "go.etcd.io/", "modernc.org/sqlite", "github.com/jackc/pgx",
			"github.com/asynkron/protoactor-go/cluster", "github.com/asynkron/protoactor-go/remote", module + "/cluster"} {
			if strings.HasPrefix(dep, heavy) && dep != module+"/cluster/clusterpb" {
				t.Errorf("the root package links %s", dep)
			}
		}
	}
}
