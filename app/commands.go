package app

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/kafka"
)

// extraCommands are the tools built on the match log (seed, replay, bench).
func extraCommands() []*cobra.Command {
	return []*cobra.Command{newSeedCmd(), newReplayCmd(), newBenchCmd(), newBackupCmd(), newRestoreCmd()}
}

func newBrokerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run only the embedded Kafka-protocol broker, for split roles on one machine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			addr, _ := cmd.Flags().GetString("addr")
			if addr == "" {
				addr = cfg.Kafka.EmbeddedAddr
			}
			logger := newLogger(cfg.Log, cmd.ErrOrStderr())
			b, err := newEmbeddedBroker(cfg, addr, logger)
			if err != nil {
				return err
			}
			if repair, _ := cmd.Flags().GetBool("repair"); repair {
				b.SetRepair()
			}
			if err := b.Start(); err != nil {
				return err
			}
			<-cmd.Context().Done()
			logger.Info("broker stopping: writing state to disk")
			b.Close()
			return nil
		},
	}
	cmd.Flags().String("addr", "", "listen address (default kafka.embedded_addr, 127.0.0.1:9092)")
	cmd.Flags().String("data-dir", "", "data directory (data_dir); the broker keeps its data in DIR/kafka")
	cmd.Flags().Bool("repair", false, "cut damaged partitions at their damage (like arena broker repair) instead of refusing to start")
	cmd.AddCommand(newBrokerCheckCmd(), newBrokerRepairCmd())
	return cmd
}

func newTopicsCmd() *cobra.Command {
	var fix bool
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Create arena's topics where missing and compare every setting of existing ones",
		Long: "topics creates missing topics and compares cleanup.policy, retention.ms,\n" +
			"retention.bytes, min.insync.replicas, the partition count (also against the\n" +
			"data's) and the replication factor with what arena asks for. It exits non-zero\n" +
			"naming each difference and its fix; --fix alters what can be altered in place.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			logger := newLogger(cfg.Log, cmd.ErrOrStderr())
			clients, err := kafka.NewClients(cfg.Kafka, cfg.BrokerAddrs(), nil, logger)
			if err != nil {
				return err
			}
			cl, err := clients.New("topics")
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			statuses, err := kafka.PrepareTopics(ctx, clients, cl, kafka.TopicOptionsFrom(cfg.Kafka, fix))
			out := cmd.OutOrStdout()
			for _, st := range statuses {
				state := "ok"
				if st.Created {
					state = "created"
				}
				if open := st.Open(); len(open) > 0 {
					state = "MISMATCH"
				} else if len(st.Issues) > 0 {
					state = "fixed"
				}
				fmt.Fprintf(out, "%-24s partitions=%-3d %s\n", st.Name, st.Partitions, state)
				for _, is := range st.Issues {
					fmt.Fprintf(out, "    %s\n", is)
				}
			}
			if errors.Is(err, kafka.ErrTopicMismatch) || errors.Is(err, kafka.ErrTopicDrift) {
				open := 0
				for _, st := range statuses {
					open += len(st.Open())
				}
				// Each is printed above with its fix; say only how many.
				if fix {
					return fmt.Errorf("%d topic settings differ that --fix cannot alter (above)", open)
				}
				return fmt.Errorf("%d topic settings differ (above); `arena topics --fix` alters what can be altered", open)
			}
			return err
		},
	}
	cmd.Flags().StringSlice("brokers", nil, "Kafka brokers (kafka.brokers); empty: kafka.embedded_addr")
	cmd.Flags().BoolVar(&fix, "fix", false, "alter topic configs (and the partition count of empty topics) to arena's settings")
	return cmd
}

// loadConfigArg loads the config of a command whose optional argument
// names the file (config validate FILE, config show FILE).
func loadConfigArg(cmd *cobra.Command, args []string) (config.Config, error) {
	if len(args) == 1 {
		if err := cmd.Flags().Set("config", args[0]); err != nil {
			return config.Config{}, err
		}
	}
	return loadConfig(cmd)
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with the config file"}
	validate := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a config file; exit non-zero naming the bad field",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfigArg(cmd, args)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "config ok: %d robots, %d prompts, %d seats, %d rounds\n",
				len(cfg.Robots), len(cfg.Prompts), cfg.Game.Seats, cfg.Game.Rounds)
			return nil
		},
	}
	example := &cobra.Command{
		Use:   "example",
		Short: "Print the example config (every key, commented)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(config.ExampleYAML())
			return err
		},
	}
	show := &cobra.Command{
		Use:   "show [FILE]",
		Short: "Print the configuration arena would run with (file, ARENA_* env and flags applied; secrets redacted)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfigArg(cmd, args)
			if err != nil {
				return err
			}
			enc := yaml.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent(2)
			if err := enc.Encode(configTree(reflect.ValueOf(cfg.Redacted()))); err != nil {
				return err
			}
			return enc.Close()
		},
	}
	// The flags serve takes, so that show prints what serve would use.
	sf := show.Flags()
	sf.String("http-addr", "", "HTTP listen address (http.addr)")
	sf.StringSlice("brokers", nil, "Kafka brokers (kafka.brokers)")
	sf.String("data-dir", "", "data directory (data_dir)")
	sf.StringSlice("robots", nil, "robot personalities (robot.personalities)")
	cmd.AddCommand(validate, example, show)
	return cmd
}

// configTree turns a config value into maps keyed by its config keys (the
// mapstructure tags), with durations written as in the file ("45s").
func configTree(v reflect.Value) any {
	switch {
	case v.Type() == reflect.TypeFor[time.Duration]():
		return time.Duration(v.Int()).String()
	case v.Kind() == reflect.Struct:
		m := make(map[string]any, v.NumField())
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("mapstructure"), ",")
			if name != "" && name != "-" {
				m[name] = configTree(v.Field(i))
			}
		}
		return m
	case v.Kind() == reflect.Slice:
		s := make([]any, v.Len())
		for i := range v.Len() {
			s[i] = configTree(v.Index(i))
		}
		return s
	default:
		return v.Interface()
	}
}
