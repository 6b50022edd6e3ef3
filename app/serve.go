package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/kafka"
)

func newServeCmd() *cobra.Command {
	var all, repairBroker bool
	var roles []string
	var pprofAddr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run arena: every module (--all) or some roles (--role=gateway,robot,...)",
		Long: "serve runs the modules of the given roles in one process. With --all and no\n" +
			"kafka.brokers it also starts the embedded broker, so it plays out of the box.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all == (len(roles) > 0) {
				return fmt.Errorf("pass either --all or --role=%s", strings.Join(Roles(), ","))
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			targets := roles
			if all {
				targets = []string{All}
			}
			if pprofAddr != "" {
				if err := servePprof(cmd.Context(), pprofAddr, newLogger(cfg.Log, cmd.ErrOrStderr())); err != nil {
					return fmt.Errorf("--pprof-addr: %w", err)
				}
			}
			return serve(cmd.Context(), cfg, targets, repairBroker, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&all, "all", false, "run every module (with the embedded broker when no brokers are configured)")
	f.StringSliceVar(&roles, "role", nil, "roles to run: "+strings.Join(Roles(), ","))
	f.String("http-addr", "", "HTTP listen address (http.addr)")
	f.StringSlice("brokers", nil, "Kafka brokers (kafka.brokers); empty: the embedded broker")
	f.String("data-dir", "", "data directory (data_dir)")
	f.StringSlice("robots", nil, "robot personalities this instance runs (robot.personalities)")
	f.BoolVar(&repairBroker, "repair-broker", false, "embedded broker: cut damaged partitions at their damage (like arena broker repair) instead of refusing to start")
	f.StringVar(&pprofAddr, "pprof-addr", "", "serve net/http/pprof (with mutex and block profiles) on this address")
	_ = f.MarkHidden("pprof-addr")
	return cmd
}

// serve wires the modules of targets into one process and runs it until ctx
// ends or a module fails. repairBroker lets the embedded broker cut damaged
// partitions instead of refusing to start.
func serve(ctx context.Context, cfg config.Config, targets []string, repairBroker bool, logOut interface{ Write([]byte) (int, error) }) error {
	logger := newLogger(cfg.Log, logOut)
	names, err := resolve(targets, cfg.EmbeddedBroker())
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := kafka.RegisterMetrics(reg); err != nil {
		return err
	}
	reg.MustRegister(kafka.BuildInfo(Version()))
	clients, err := kafka.NewClients(cfg.Kafka, cfg.BrokerAddrs(), reg, logger)
	if err != nil {
		return err
	}
	ready := new(atomic.Bool)
	d := &deps{cfg: cfg, logger: logger, registry: reg, mux: http.NewServeMux(), ready: ready, checks: newReadiness(logger, ready), clients: clients, repairBroker: repairBroker}
	services, err := build(names, d)
	if err != nil {
		return err
	}
	logger.Info("starting arena", "version", Version(), "modules", names, "brokers", cfg.BrokerAddrs())
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go d.checks.watch(watchCtx, 2*time.Second)
	lc := &lifecycle{services: services, logger: logger, ready: d.ready, stopTimeout: 10 * time.Second, drainDelay: cfg.HTTP.DrainDelay}
	return lc.run(ctx)
}
