// Package kafka is arena's Kafka plumbing: client options from config (TLS,
// SASL), the producer, the consumer-group runner, topic bootstrap and the
// embedded broker. Modules never build kgo clients themselves.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kprom"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
)

// Clients builds kgo clients that share the configured brokers, security
// and metrics. It is safe for concurrent use.
type Clients struct {
	cfg     config.Kafka
	brokers []string
	reg     prometheus.Registerer
	logger  *slog.Logger
	Topics  events.Topics

	mu   sync.Mutex
	live map[string]bool // client labels with registered metrics
}

// NewClients checks the security settings and returns a factory. reg may be
// nil (no client metrics).
func NewClients(cfg config.Kafka, brokers []string, reg prometheus.Registerer, logger *slog.Logger) (*Clients, error) {
	if len(brokers) == 0 {
		return nil, fmt.Errorf("kafka.brokers: no broker address")
	}
	c := &Clients{cfg: cfg, brokers: brokers, reg: reg, logger: logger, Topics: events.TopicNames(cfg.TopicPrefix)}
	if _, err := c.securityOpts(); err != nil {
		return nil, err
	}
	return c, nil
}

// New returns a long-lived client named arena-<name> whose metrics are
// exported with a client label. Extra options (a consumer group, topics)
// are appended to the shared ones.
func (c *Clients) New(name string, extra ...kgo.Opt) (*kgo.Client, error) {
	return c.newClient(name, c.reg != nil, extra)
}

// NewUnmetered returns a client without metrics, for short-lived work
// (bootstrap reads, admin calls) whose series would only churn.
func (c *Clients) NewUnmetered(name string, extra ...kgo.Opt) (*kgo.Client, error) {
	return c.newClient(name, false, extra)
}

func (c *Clients) newClient(name string, metered bool, extra []kgo.Opt) (*kgo.Client, error) {
	sec, err := c.securityOpts()
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.brokers...),
		kgo.ClientID("arena-" + name),
		kgo.WithLogger(slogAdapter{c.logger.With("kafka_client", name)}),
		// Keys are match ids: the default sticky key partitioner keeps a
		// match on one partition, and the same partition number on every topic.
		kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	}
	opts = append(opts, sec...)
	if metered {
		// Each client gets its own collectors, told apart by a constant
		// client label; kprom unregisters them when the client closes.
		label := c.claim(name)
		reg := prometheus.WrapRegistererWith(prometheus.Labels{"client": label}, c.reg)
		m := kprom.NewMetrics("arena_kafka", kprom.Registerer(dropRenamed{reg}))
		opts = append(opts, kgo.WithHooks(m, &bufferedGauges{reg: reg}, producedHook{}, released(func() { c.release(label) })))
	}
	opts = append(opts, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client %s: %w", name, err)
	}
	return cl, nil
}

// claim returns a metrics label for name not used by a live client.
func (c *Clients) claim(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live == nil {
		c.live = map[string]bool{}
	}
	label := name
	for i := 2; c.live[label]; i++ {
		label = fmt.Sprintf("%s-%d", name, i)
	}
	c.live[label] = true
	return label
}

func (c *Clients) release(label string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.live, label)
}

// released is a hook that runs a function when its client closes.
type released func()

func (f released) OnClientClosed(*kgo.Client) { f() }

func (c *Clients) securityOpts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if c.cfg.TLS.Enabled {
		tc, err := tlsConfig(c.cfg.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	mech, err := saslMechanism(c.cfg.SASL)
	if err != nil {
		return nil, err
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

func tlsConfig(t config.TLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // operator's explicit choice
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka.tls.ca_file: no PEM certificate in %s", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func saslMechanism(s config.SASL) (sasl.Mechanism, error) {
	switch s.Mechanism {
	case "":
		return nil, nil
	case config.SASLPlain:
		return plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism(), nil
	case config.SASLScram256:
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism(), nil
	case config.SASLScram512:
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism(), nil
	case config.SASLAWSMSKIAM:
		return aws.ManagedStreamingIAM(awsCredentials(s)), nil
	default:
		return nil, fmt.Errorf("kafka.sasl.mechanism: unknown mechanism %q", s.Mechanism)
	}
}

// awsCredentials uses static keys when configured and otherwise the AWS
// SDK's default credential chain: the AWS_* environment, the shared config
// and credentials files (AWS_PROFILE, SSO), web identity (EKS IRSA), ECS
// container credentials (the task role) and EC2 instance metadata (the
// instance profile). The chain is loaded once; its cache refreshes
// temporary credentials before they expire, and every new connection signs
// with the current ones.
func awsCredentials(s config.SASL) func(context.Context) (aws.Auth, error) {
	if s.Username != "" {
		static := aws.Auth{AccessKey: s.Username, SecretKey: s.Password, SessionToken: s.SessionToken}
		return func(context.Context) (aws.Auth, error) { return static, nil }
	}
	var (
		once     sync.Once
		provider awssdk.CredentialsProvider
		loadErr  error
	)
	return func(ctx context.Context) (aws.Auth, error) {
		once.Do(func() {
			// Not ctx: the chain outlives the connection that first needs it.
			cfg, err := awsconfig.LoadDefaultConfig(context.Background())
			if err != nil {
				loadErr = err
				return
			}
			provider = cfg.Credentials
		})
		if loadErr != nil {
			return aws.Auth{}, fmt.Errorf("kafka.sasl: aws-msk-iam: loading the AWS config: %w", loadErr)
		}
		if provider == nil {
			return aws.Auth{}, errNoAWSCredentials
		}
		creds, err := provider.Retrieve(ctx)
		if err != nil {
			return aws.Auth{}, fmt.Errorf("%w: %w", errNoAWSCredentials, err)
		}
		return aws.Auth{AccessKey: creds.AccessKeyID, SecretKey: creds.SecretAccessKey, SessionToken: creds.SessionToken}, nil
	}
}

var errNoAWSCredentials = errors.New("kafka.sasl: aws-msk-iam found no AWS credentials " +
	"(set kafka.sasl.username/password, or give the process a role: AWS_* variables, AWS_PROFILE, " +
	"an EKS service account, an ECS task role or an EC2 instance profile)")

// explain adds what an operator should check to an error that leaves it
// unsaid. Kafka answers a wrong SASL password with
// SASL_AUTHENTICATION_FAILED, but some brokers (kfake among them) just close
// the connection, and a TLS/plaintext mismatch looks the same: a bare EOF.
// The hint names settings, never their values.
func explain(cl *kgo.Client, err error) error {
	if err == nil || !(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)) {
		return err
	}
	hint := "is kafka.tls.enabled right for this listener?"
	if mechs, _ := cl.OptValue(kgo.SASL).([]sasl.Mechanism); len(mechs) > 0 {
		hint = fmt.Sprintf("SASL %s authentication failed or was refused: check kafka.sasl.username and kafka.sasl.password, and kafka.tls.enabled", mechs[0].Name())
		if mechs[0].Name() == "AWS_MSK_IAM" {
			hint = "AWS_MSK_IAM authentication failed or was refused: check that the AWS credentials' role may kafka-cluster:Connect " +
				"to this cluster (docs/deploy.md has the policy), that kafka.tls.enabled is true and that the port is the IAM one (9098)"
		}
	}
	return fmt.Errorf("the broker closed the connection (%s): %w", hint, err)
}

// slogAdapter routes franz-go's logs to slog, one level down so that the
// client's chatty info lines are debug lines of ours.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Level() kgo.LogLevel {
	switch {
	case a.l.Enabled(context.Background(), slog.LevelDebug):
		return kgo.LogLevelInfo
	default:
		return kgo.LogLevelWarn
	}
}

func (a slogAdapter) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	switch level {
	case kgo.LogLevelError:
		a.l.Error(msg, keyvals...)
	case kgo.LogLevelWarn:
		a.l.Warn(msg, keyvals...)
	default:
		a.l.Debug(msg, keyvals...)
	}
}
