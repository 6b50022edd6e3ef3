package app

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest/kafkatest"
	"github.com/arena-hq/arena/modules/kafka"
)

// series maps a metric name to its label names.
type series map[string][]string

func (s series) add(name string, labels ...string) {
	s[name] = append(s[name], labels...)
}

// declaredSeries finds every collector the modules declare with
// prometheus.New*(Opts{Name: "...", ConstLabels: ...}, []string{labels}),
// histograms with their _bucket, _sum and _count series. Vectors that no
// event has touched yet are absent from /metrics, so reading the source is
// the way to know every series a process can export.
func declaredSeries(t *testing.T, root string) series {
	t.Helper()
	out := series{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !strings.HasPrefix(sel.Sel.Name, "New") {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "prometheus" {
				return true
			}
			opts, ok := call.Args[0].(*ast.CompositeLit)
			if !ok {
				return true
			}
			var name string
			var labels []string
			for _, el := range opts.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				switch key := kv.Key.(*ast.Ident); key.Name {
				case "Name":
					if lit, ok := kv.Value.(*ast.BasicLit); ok {
						name, _ = strconv.Unquote(lit.Value)
					}
				case "ConstLabels":
					if cl, ok := kv.Value.(*ast.CompositeLit); ok {
						for _, e := range cl.Elts {
							if lit, ok := e.(*ast.KeyValueExpr).Key.(*ast.BasicLit); ok {
								l, _ := strconv.Unquote(lit.Value)
								labels = append(labels, l)
							}
						}
					}
				}
			}
			if !strings.HasPrefix(name, "arena_") {
				return true
			}
			if strings.HasSuffix(sel.Sel.Name, "Vec") && len(call.Args) > 1 {
				if lst, ok := call.Args[1].(*ast.CompositeLit); ok {
					for _, e := range lst.Elts {
						if lit, ok := e.(*ast.BasicLit); ok {
							l, _ := strconv.Unquote(lit.Value)
							labels = append(labels, l)
						}
					}
				}
			}
			if strings.HasPrefix(sel.Sel.Name, "NewHistogram") || strings.HasPrefix(sel.Sel.Name, "NewSummary") {
				out.add(name+"_bucket", append(slices.Clone(labels), "le")...)
				out.add(name+"_sum", labels...)
				out.add(name+"_count", labels...)
			}
			out.add(name, labels...)
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// gatheredSeries adds what a process exports before any traffic: the Go
// and process collectors and a Kafka client's kprom series with their
// client label.
func gatheredSeries(t *testing.T, s series) {
	t.Helper()
	b := kafkatest.StartBroker(t, 0, discardLogger())
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	clients, err := kafka.NewClients(config.Kafka{}, []string{b.Addr()}, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := clients.New("probe")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				s.add(mf.GetName(), l.GetName())
			}
		}
		s.add(mf.GetName())
	}
}

var (
	metricRE  = regexp.MustCompile(`\b((?:arena|process|go)_[a-zA-Z0-9_]+)\b`)
	byRE      = regexp.MustCompile(`\bby \(([^)]*)\)`)
	matcherRE = regexp.MustCompile(`([a-zA-Z_]+)\s*(?:=~|!~|!=|=)`)
	selRE     = regexp.MustCompile(`\{([^}]*)\}`)
)

// TestGrafanaDashboard: docs/grafana-dashboard.json parses, has a panel for
// each series that matters, and its queries name only series and labels
// that arena exports.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Type    string                   `json:"type"`
			Title   string                   `json:"title"`
			GridPos struct{ H, W, X, Y int } `json:"gridPos"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("dashboard lacks title, uid or panels")
	}
	known := declaredSeries(t, "../modules")
	gatheredSeries(t, known)
	// Added by Prometheus at scrape time.
	scrape := []string{"job", "instance"}

	used := map[string]bool{}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			names := metricRE.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no arena series", p.Title, tg.Expr)
			}
			var labels []string
			for _, n := range names {
				l, ok := known[n]
				if !ok {
					t.Errorf("panel %q: %s is not a series arena exports", p.Title, n)
				}
				labels = append(labels, l...)
				used[n] = true
			}
			var refs []string
			for _, m := range byRE.FindAllStringSubmatch(tg.Expr, -1) {
				for _, l := range strings.Split(m[1], ",") {
					refs = append(refs, strings.TrimSpace(l))
				}
			}
			for _, sel := range selRE.FindAllStringSubmatch(tg.Expr, -1) {
				for _, m := range matcherRE.FindAllStringSubmatch(sel[1], -1) {
					refs = append(refs, m[1])
				}
			}
			for _, l := range refs {
				if l != "" && !slices.Contains(labels, l) && !slices.Contains(scrape, l) {
					t.Errorf("panel %q: label %q is not on %v", p.Title, l, names)
				}
			}
		}
	}
	// The series issue 13 asks a dashboard for.
	for _, want := range []string{"arena_live_matches", "arena_action_broadcast_seconds_bucket", "arena_consumer_lag",
		"arena_robot_model_call_seconds_bucket", "arena_robot_model_call_seconds_count", "arena_build_info"} {
		if !used[want] {
			t.Errorf("no panel shows %s", want)
		}
	}
}
