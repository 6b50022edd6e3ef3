package kafka

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// BrokerConfig configures the embedded broker.
type BrokerConfig struct {
	Addr       string // host:port to listen on
	DataDir    string // where topics, records and offsets are kept; "" keeps them in memory
	SyncWrites bool   // fsync every batch: slower, survives power loss
	Partitions int    // default for auto-created topics
	// SASL users (mechanism -> user -> password); empty disables SASL.
	SASL map[string]map[string]string
	TLS  *tls.Config
	// MinSessionTimeout lets roles use short group session timeouts for
	// fast failover (kfake's default floor is 6s, like Kafka's).
	MinSessionTimeout time.Duration
	// Repair cuts damaged partitions at their damage at start (see
	// CheckSegments) instead of refusing to start.
	Repair bool
}

// Broker is the embedded Kafka-protocol broker: franz-go's kfake serving on
// a real TCP port, with its data on disk. All of kfake's API is kept behind
// this type so its churn stays in one file.
type Broker struct {
	cfg     BrokerConfig
	cluster *kfake.Cluster
	watch   *groupWatch
	logger  *slog.Logger

	probeMu  sync.Mutex // guards the data dir probe of Ready
	probedAt time.Time
	probeErr error
}

// ErrAddrInUse is returned when the broker's port is taken.
var ErrAddrInUse = errors.New("address already in use")

// NewBroker checks the config; it does not listen yet.
func NewBroker(cfg BrokerConfig, logger *slog.Logger) (*Broker, error) {
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("kafka.embedded_addr: %w", err)
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 6
	}
	if cfg.MinSessionTimeout <= 0 {
		cfg.MinSessionTimeout = time.Second
	}
	return &Broker{cfg: cfg, logger: logger}, nil
}

// Start listens and loads any data in the data directory.
func (b *Broker) Start() error {
	if b.cfg.DataDir != "" {
		if err := os.MkdirAll(b.cfg.DataDir, 0o755); err != nil {
			return fmt.Errorf("broker data dir: %w", err)
		}
		if err := b.checkData(); err != nil {
			return err
		}
	}
	addr := b.cfg.Addr
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ClusterID("arena"),
		kfake.DefaultNumPartitions(b.cfg.Partitions),
		kfake.GroupMinSessionTimeout(b.cfg.MinSessionTimeout),
		// kfake always asks for 127.0.0.1:port; listen where configured.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, addr) }),
		kfake.BrokerConfigs(map[string]string{
			// An empty group's offsets would expire after 7 days, and a dev
			// install left off for a week would re-read whole topics.
			"offsets.retention.minutes": "5256000", // ten years
			// match-state gets a snapshot per event; compacting every few
			// minutes (Kafka's default is far rarer here: an hour) keeps the
			// disk and the gateway's catch-up on restart small.
			"log.cleaner.backoff.ms": "300000",
		}),
		kfake.WithLogger(kfakeLogger{b.logger}),
	}
	if b.cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(b.cfg.DataDir))
	}
	if b.cfg.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	if len(b.cfg.SASL) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for mech, users := range b.cfg.SASL {
			for u, p := range users {
				opts = append(opts, kfake.Superuser(mech, u, p))
			}
		}
	}
	if b.cfg.TLS != nil {
		opts = append(opts, kfake.TLS(b.cfg.TLS))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("embedded broker: %s: %w (is another arena or Kafka running? set kafka.embedded_addr or kafka.brokers)", addr, ErrAddrInUse)
		}
		return fmt.Errorf("embedded broker: %w", err)
	}
	b.cluster = c
	b.watch = newGroupWatch(c, dialable(b.Addr()), b.cfg.SASL, b.cfg.TLS != nil, b.logger)
	b.watch.start()
	c.Compact() // what a long run left behind, before anyone reads it
	b.logger.Info("embedded broker listening", "addr", b.Addr(), "data_dir", b.cfg.DataDir, "sync_writes", b.cfg.SyncWrites)
	return nil
}

// checkData checks the segments before kfake loads them (kfake would cut a
// damaged partition with one WARN line, or never notice a missing file).
// Incomplete writes at the end of a log, what a crash mid-write leaves, are
// cut and logged; any other damage refuses the start unless Repair is set.
func (b *Broker) checkData() error {
	began := time.Now()
	rep, err := CheckSegments(b.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("embedded broker: checking %s: %w", b.cfg.DataDir, err)
	}
	b.logger.Info("broker data checked", "data_dir", b.cfg.DataDir, "partitions", rep.Partitions, "segments", rep.Segments,
		"batches", rep.Batches, "damaged", len(rep.Damage), "took", time.Since(began).Round(time.Millisecond))
	if len(rep.Damage) > 0 && !b.cfg.Repair {
		lines := make([]string, len(rep.Damage))
		for i, d := range rep.Damage {
			lines[i] = d.String()
		}
		return fmt.Errorf("embedded broker: %w: %s. Nothing was changed. `arena broker repair` (with the same data_dir), or starting with `--repair`/`--repair-broker`, cuts each damaged partition there, losing the records from that offset on; or restore a backup with `arena restore`",
			ErrDamaged, strings.Join(lines, "; "))
	}
	if len(rep.Damage)+len(rep.Torn) == 0 {
		return nil
	}
	cuts, err := RepairSegments(b.cfg.DataDir)
	for _, c := range cuts {
		b.logger.Warn("broker data cut", "cut", c.String())
	}
	if err != nil {
		return fmt.Errorf("embedded broker: repairing %s: %w", b.cfg.DataDir, err)
	}
	return nil
}

// SetRepair makes Start cut damaged partitions instead of refusing.
func (b *Broker) SetRepair() { b.cfg.Repair = true }

// Addr is the address the broker listens on (useful with port 0).
func (b *Broker) Addr() string {
	if b.cluster == nil {
		return b.cfg.Addr
	}
	return b.cluster.ListenAddrs()[0]
}

// Close stops listening and writes the remaining state to disk.
func (b *Broker) Close() {
	if b.watch != nil {
		b.watch.close()
		b.watch = nil
	}
	if b.cluster != nil {
		b.cluster.Close()
		b.cluster = nil
	}
}

type kfakeLogger struct{ l *slog.Logger }

func (k kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	switch level {
	case kfake.LogLevelError:
		k.l.Error(msg, "component", "broker")
	case kfake.LogLevelWarn:
		k.l.Warn(msg, "component", "broker")
	}
}
