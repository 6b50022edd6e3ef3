package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest"
)

// Secrets the tests use; none may show in an error or a log line.
const (
	goodPassword  = "s3cret-Pa55word-that-must-not-leak"
	wrongPassword = "Wr0ng-Pa55word-that-must-not-leak"
)

// selfSigned returns a server certificate for 127.0.0.1 and the PEM file
// of the CA that signed it (itself).
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "arena test broker"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, caFile
}

// roundTrip produces one record with a client built from cfg and reads it
// back; it returns the first error.
func roundTrip(t *testing.T, cfg config.Kafka, addr string, logger *slog.Logger) error {
	t.Helper()
	c, err := NewClients(cfg, []string{addr}, nil, logger)
	if err != nil {
		return err
	}
	topic := "security-" + strings.ReplaceAll(t.Name(), "/", "-")
	cl, err := c.NewUnmetered("security-test",
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.RequestRetries(1), kgo.RetryTimeout(3*time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, -1, nil, topic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return err
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("m"), Value: []byte("hello")}).FirstErr(); err != nil {
		return err
	}
	for {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return err
		}
		var got bool
		fs.EachRecord(func(r *kgo.Record) { got = got || string(r.Value) == "hello" })
		if got {
			return nil
		}
	}
}

// TestSecureBroker runs the embedded broker with TLS and SASL (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512) and dials it with clients built from
// config, as every arena role does: the right credentials produce and
// consume; a wrong password fails with an error that says authentication
// failed and names neither password; a client without TLS does not get in.
func TestSecureBroker(t *testing.T) {
	cert, caFile := selfSigned(t)
	logs := &arenatest.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := NewBroker(BrokerConfig{
		Addr: "127.0.0.1:0",
		SASL: map[string]map[string]string{
			"PLAIN":         {"alice": goodPassword},
			"SCRAM-SHA-256": {"bob": goodPassword},
			"SCRAM-SHA-512": {"carol": goodPassword},
		},
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tlsOn := config.TLS{Enabled: true, CAFile: caFile}

	for _, tc := range []struct{ mechanism, user string }{
		{config.SASLPlain, "alice"},
		{config.SASLScram256, "bob"},
		{config.SASLScram512, "carol"},
	} {
		t.Run(tc.mechanism, func(t *testing.T) {
			good := config.Kafka{TLS: tlsOn, SASL: config.SASL{Mechanism: tc.mechanism, Username: tc.user, Password: goodPassword}}
			if err := roundTrip(t, good, b.Addr(), logger); err != nil {
				t.Fatalf("right credentials: %v", err)
			}
			// Every role's first call: the topics check.
			bad := good
			bad.SASL.Password = wrongPassword
			c, err := NewClients(bad, []string{b.Addr()}, nil, logger)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := c.NewUnmetered("security-test", kgo.RequestRetries(1), kgo.RetryTimeout(3*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = EnsureTopics(ctx, cl, c.Topics, 1, -1)
			if err == nil {
				t.Fatal("wrong password: no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, "SASL") || !strings.Contains(msg, "kafka.sasl.password") {
				t.Errorf("wrong password: error %q does not say authentication failed", msg)
			}
			for _, secret := range []string{goodPassword, wrongPassword} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q contains a password", msg)
				}
			}
			t.Logf("wrong password: %v", err)
		})
	}

	t.Run("no TLS", func(t *testing.T) {
		plain := config.Kafka{SASL: config.SASL{Mechanism: config.SASLPlain, Username: "alice", Password: goodPassword}}
		if err := roundTrip(t, plain, b.Addr(), logger); err == nil {
			t.Fatal("a client without TLS got in")
		}
	})
	t.Run("no SASL", func(t *testing.T) {
		if err := roundTrip(t, config.Kafka{TLS: tlsOn}, b.Addr(), logger); err == nil {
			t.Fatal("a client without credentials got in")
		}
	})
	t.Run("unknown CA", func(t *testing.T) {
		_, otherCA := selfSigned(t)
		cfg := config.Kafka{TLS: config.TLS{Enabled: true, CAFile: otherCA}, SASL: config.SASL{Mechanism: config.SASLPlain, Username: "alice", Password: goodPassword}}
		if err := roundTrip(t, cfg, b.Addr(), logger); err == nil {
			t.Fatal("a broker certificate from an unknown CA was accepted")
		}
	})

	for _, secret := range []string{goodPassword, wrongPassword} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a password appears in the logs")
		}
	}
	if !strings.Contains(logs.String(), "embedded broker listening") {
		t.Errorf("logs were not captured:\n%s", logs.String())
	}
}
