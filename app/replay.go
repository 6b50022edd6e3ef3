package app

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/replay"
	"github.com/arena-hq/arena/modules/kafka"
)

// logCommandTimeout bounds replay and seed, so that brokers that never
// answer give an error instead of a hang.
const logCommandTimeout = 2 * time.Minute

func newReplayCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "replay MATCH_ID",
		Short: "Print a match's timeline and final state, folded from the match log",
		Long: "replay reads every event of one match from match-events, folds them with the\n" +
			"game's rules and prints the timeline (rejected events marked) and the final\n" +
			"state. It starts nothing that serves: with no kafka.brokers it opens the\n" +
			"embedded broker's data in --data-dir on a free loopback port for the length\n" +
			"of the command or, when a running arena holds that data, reads through its\n" +
			"broker at kafka.embedded_addr.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onLog(cmd, logCommandTimeout, true, func(ctx context.Context, _ config.Config, clients *kafka.Clients) error {
				state, evs, err := replay.Match(ctx, clients, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return replay.WriteJSON(cmd.OutOrStdout(), state, evs)
				}
				return replay.Write(cmd.OutOrStdout(), args[0], evs)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"events":[...],"state":{...}} as JSON`)
	addLogFlags(cmd)
	return cmd
}

// onLog runs fn for a command that works on the log only (replay, seed,
// backup): the config, clients on the brokers openLog finds (readOnly as
// there), and a context bounded by timeout.
func onLog(cmd *cobra.Command, timeout time.Duration, readOnly bool, fn func(context.Context, config.Config, *kafka.Clients) error) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	clients, done, err := openLog(ctx, cfg, quietLogger(cfg, cmd.ErrOrStderr()), readOnly)
	if err != nil {
		return err
	}
	defer done()
	return fn(ctx, cfg, clients)
}

// addLogFlags adds the flags of commands that only work on the log.
func addLogFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSlice("brokers", nil, "Kafka brokers (kafka.brokers); empty: the embedded broker's data in --data-dir")
	f.String("data-dir", "", "data directory (data_dir) of the embedded broker")
}

// quietLogger is the logger of a command whose output is its result: only
// warnings and errors, unless debug logging was asked for.
func quietLogger(cfg config.Config, w io.Writer) *slog.Logger {
	l := cfg.Log
	if l.Level != "debug" {
		l.Level = "warn"
	}
	return newLogger(l, w)
}
