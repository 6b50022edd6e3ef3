package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/kafka"
)

// embeddedBroker is the embedded broker together with the lock on its data.
type embeddedBroker struct {
	*kafka.Broker
	dataDir string
	lock    *kafka.DataDirLock
}

func newEmbeddedBroker(cfg config.Config, addr string, logger *slog.Logger) (*embeddedBroker, error) {
	b, err := kafka.NewBroker(kafka.BrokerConfig{
		Addr:       addr,
		DataDir:    filepath.Join(cfg.DataDir, "kafka"),
		SyncWrites: cfg.Kafka.SyncWrites,
		Partitions: cfg.Kafka.Partitions,
	}, logger)
	if err != nil {
		return nil, err
	}
	return &embeddedBroker{Broker: b, dataDir: cfg.DataDir}, nil
}

// Start locks the data directory, then listens.
func (e *embeddedBroker) Start() error {
	lock, err := kafka.LockDataDir(e.dataDir)
	if err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	if err := e.Broker.Start(); err != nil {
		lock.Release()
		return err
	}
	e.lock = lock
	return nil
}

// Close writes the broker's state to disk, then unlocks the data directory.
func (e *embeddedBroker) Close() {
	e.Broker.Close()
	e.lock.Release()
	e.lock = nil
}

// openLog gives a command that only reads or appends to the log (replay,
// seed) its way to the brokers, and a function to call when done:
//
//   - kafka.brokers set: those brokers.
//   - no brokers, and the data directory free: an embedded broker on that
//     data directory on a free loopback port, for the duration of the
//     command (nothing else is started, and nothing listens on the
//     configured ports).
//   - no brokers, and the data directory held by a running arena (serve
//     --all, or arena broker): that process's broker at
//     kafka.embedded_addr, since two brokers must never share the data.
//
// mustExist makes a missing data directory an error rather than a new,
// empty log (replay has nothing to read there; seed creates it).
func openLog(ctx context.Context, cfg config.Config, logger *slog.Logger, mustExist bool) (*kafka.Clients, func(), error) {
	if !cfg.EmbeddedBroker() {
		c, err := kafka.NewClients(cfg.Kafka, cfg.Kafka.Brokers, nil, logger)
		return c, func() {}, err
	}
	if mustExist {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "kafka")); err != nil {
			return nil, nil, fmt.Errorf("data_dir %s holds no embedded broker data (nothing was played or seeded there): pass --data-dir, or --brokers for a Kafka cluster", cfg.DataDir)
		}
	}
	b, err := newEmbeddedBroker(cfg, "127.0.0.1:0", logger)
	if err != nil {
		return nil, nil, err
	}
	err = b.Start()
	switch {
	case err == nil:
		c, err := kafka.NewClients(cfg.Kafka, []string{b.Addr()}, nil, logger)
		if err != nil {
			b.Close()
			return nil, nil, err
		}
		return c, b.Close, nil
	case errors.Is(err, kafka.ErrDataDirInUse):
		addr := cfg.Kafka.EmbeddedAddr
		d := net.Dialer{Timeout: 2 * time.Second}
		conn, derr := d.DialContext(ctx, "tcp", addr)
		if derr != nil {
			return nil, nil, fmt.Errorf("%w, and no broker answers at kafka.embedded_addr %s: set kafka.embedded_addr to that process's broker, or stop it", err, addr)
		}
		conn.Close()
		logger.Info("data directory in use: going through the running broker", "data_dir", cfg.DataDir, "broker", addr)
		c, err := kafka.NewClients(cfg.Kafka, []string{addr}, nil, logger)
		return c, func() {}, err
	default:
		return nil, nil, err
	}
}
