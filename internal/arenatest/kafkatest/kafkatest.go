// Package kafkatest is the in-process embedded broker that tests of several
// packages share: on a free loopback port, with arena's topics (Log) or
// without (StartBroker), and a way to append a fact to a match's log as a
// module would (Publish). Only tests import it; modules/kafka's own tests
// cannot (it imports modules/kafka) and keep their own broker helpers.
package kafkatest

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/kafka"
)

// Log is an in-process embedded broker on a free loopback port with
// arena's topics, and clients for it.
type Log struct {
	Broker  *kafka.Broker
	Clients *kafka.Clients
}

// NewLog starts a broker with the given partition count (dataDir may be
// empty: in memory), opens clients with kcfg's settings and creates arena's
// topics (replication 1). Close stops the broker.
func NewLog(kcfg config.Kafka, partitions int, dataDir string, logger *slog.Logger) (*Log, error) {
	b, err := kafka.NewBroker(kafka.BrokerConfig{Addr: "127.0.0.1:0", DataDir: dataDir, Partitions: partitions}, logger)
	if err != nil {
		return nil, err
	}
	if err := b.Start(); err != nil {
		return nil, err
	}
	clients, err := kafka.NewClients(kcfg, []string{b.Addr()}, nil, logger)
	if err != nil {
		b.Close()
		return nil, err
	}
	cl, err := clients.New("test-topics")
	if err != nil {
		b.Close()
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kafka.EnsureTopics(ctx, cl, clients.Topics, int32(partitions), 1); err != nil {
		b.Close()
		return nil, fmt.Errorf("creating topics: %w", err)
	}
	return &Log{Broker: b, Clients: clients}, nil
}

// StartLog is NewLog with its data in a temporary directory, stopped when
// the test ends.
func StartLog(t testing.TB, kcfg config.Kafka, partitions int, logger *slog.Logger) *Log {
	t.Helper()
	l, err := NewLog(kcfg, partitions, t.TempDir(), logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// Close stops the broker.
func (l *Log) Close() { l.Broker.Close() }

// StartBroker starts an embedded broker alone (no topics: for tests of what
// happens before any exist, or that create them), its data in a temporary
// directory, stopped when the test ends. partitions 0 is the broker's
// default.
func StartBroker(t testing.TB, partitions int, logger *slog.Logger) *kafka.Broker {
	t.Helper()
	b, err := kafka.NewBroker(kafka.BrokerConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Partitions: partitions}, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// Publish appends the fact p to matchID's log on topic, as source writes it
// at time at, failing the test if it cannot within 10 s.
func Publish(t testing.TB, cl *kgo.Client, topic, source, matchID string, at time.Time, p events.Payload) {
	t.Helper()
	e, err := events.New(matchID, source, at, p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := kafka.Publish(ctx, cl, topic, "", e); err != nil {
		t.Fatal(err)
	}
}
