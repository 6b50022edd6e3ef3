package app

import (
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/kafka"
)

func TestResolveRoles(t *testing.T) {
	tests := []struct {
		targets  []string
		embedded bool // no kafka.brokers configured
		want     []string
		wantErr  string
	}{
		// --all runs every module, with the embedded broker only when no
		// brokers are configured.
		{targets: []string{All}, embedded: true, want: []string{Broker, Server, Topics, Materializer, Orchestrator, Robot, Gateway}},
		{targets: []string{All}, embedded: false, want: []string{Server, Topics, Materializer, Orchestrator, Robot, Gateway}},
		// A single role brings the HTTP server and the topic check, never
		// the broker: split roles dial kafka.embedded_addr or kafka.brokers.
		{targets: []string{Gateway}, embedded: true, want: []string{Server, Topics, Gateway}},
		{targets: []string{Gateway}, embedded: false, want: []string{Server, Topics, Gateway}},
		{targets: []string{Orchestrator}, embedded: true, want: []string{Server, Topics, Orchestrator}},
		{targets: []string{Robot}, embedded: false, want: []string{Server, Topics, Robot}},
		{targets: []string{Materializer}, embedded: true, want: []string{Server, Topics, Materializer}},
		// Comma lists (cobra splits --role=a,b; spaces are forgiven), in
		// start order whatever order they were named in, without repeats.
		{targets: []string{Gateway, Robot}, embedded: true, want: []string{Server, Topics, Robot, Gateway}},
		{targets: []string{" robot", "materializer ", "robot"}, want: []string{Server, Topics, Materializer, Robot}},
		{targets: []string{Gateway, Materializer, Orchestrator, Robot}, embedded: true, want: []string{Server, Topics, Materializer, Orchestrator, Robot, Gateway}},
		{targets: []string{Robot, All}, embedded: true, want: []string{Broker, Server, Topics, Materializer, Orchestrator, Robot, Gateway}},
		// Errors.
		{targets: []string{"robots"}, wantErr: `unknown role "robots" (want gateway, materializer, orchestrator, robot or all)`},
		{targets: []string{Gateway, "web"}, wantErr: `unknown role "web"`},
		{targets: []string{""}, wantErr: `unknown role ""`},
		{targets: nil, wantErr: "no role"},
		// Infrastructure is not a role: alone it would run nothing.
		{targets: []string{Broker}, embedded: true, wantErr: `"broker" is not a role`},
		{targets: []string{Server}, wantErr: `"server" is not a role`},
		{targets: []string{Topics, Gateway}, wantErr: `"topics" is not a role`},
	}
	for _, tt := range tests {
		name := strings.Join(tt.targets, ",")
		if tt.embedded {
			name += "/embedded"
		}
		t.Run(name, func(t *testing.T) {
			got, err := resolve(tt.targets, tt.embedded)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("resolve = %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("resolve = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRolesListsOnlyRoles(t *testing.T) {
	want := []string{Gateway, Materializer, Orchestrator, Robot}
	if got := Roles(); !slices.Equal(got, want) {
		t.Fatalf("Roles() = %v, want %v", got, want)
	}
}

// The stop order is the start order reversed: the gateway drains first, the
// HTTP server stops after every consumer, and the broker last of all.
func TestStartOrderPutsServerAndBrokerLastToStop(t *testing.T) {
	all, err := resolve([]string{All}, true)
	if err != nil {
		t.Fatal(err)
	}
	if all[0] != Broker || all[1] != Server || all[len(all)-1] != Gateway {
		t.Fatalf("start order %v: want broker, server first and gateway last", all)
	}
	for name := range modules {
		if name != All && !slices.Contains(startOrder, name) {
			t.Errorf("module %q is missing from startOrder, so it would never start", name)
		}
	}
}

// Every module the table builds must call itself by its table name: the
// lifecycle's log lines and errors name modules by Service.Name.
func TestBuiltServicesAreNamedAfterTheirModules(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = "127.0.0.1:0"
	logger := discardLogger()
	clients, err := kafka.NewClients(cfg.Kafka, cfg.BrokerAddrs(), nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	d := &deps{cfg: cfg, logger: logger, registry: reg, mux: http.NewServeMux(), ready: new(atomic.Bool), clients: clients}
	names, err := resolve([]string{All}, true)
	if err != nil {
		t.Fatal(err)
	}
	services, err := build(names, d)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range services {
		got = append(got, s.Name())
	}
	if !slices.Equal(got, names) {
		t.Fatalf("built services %v, want %v", got, names)
	}
}

// The start order comes from the dependency table; today's table gives the
// order the lifecycle has always used.
func TestStartOrderIsDerivedFromTheTable(t *testing.T) {
	want := []string{Broker, Server, Topics, Materializer, Orchestrator, Robot, Gateway}
	if !slices.Equal(startOrder, want) {
		t.Fatalf("start order %v, want %v", startOrder, want)
	}
	for i, name := range startOrder {
		for _, d := range modules[name].deps {
			if j := slices.Index(startOrder, d); j < 0 || j > i {
				t.Errorf("%s starts before its dependency %s", name, d)
			}
		}
	}
}
