package app

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/loadgen"
	"github.com/arena-hq/arena/internal/turing"
)

func newBenchCmd() *cobra.Command {
	var o loadgen.Options
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Drive concurrent matches through HTTP and WebSocket and measure them against the raw pipeline",
		Long: "bench plays N concurrent matches through arena's public API and WebSocket, with\n" +
			"simulated humans answering and voting, against --target or against an arena it\n" +
			"starts itself (serve --all in a temp dir: embedded broker, scripted robots with\n" +
			"no delay, short timers). It reports matches/s, actions/s, the latency from an\n" +
			"action to every player's new view (p50, p99, max) and the server's CPU and RSS,\n" +
			"then runs the raw pipeline (the same Kafka hops, no game logic) on the same\n" +
			"broker at the same action rate and prints arena's figures as ratios to it.\n" +
			"See docs/performance.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Out = cmd.OutOrStdout()
			_, err := loadgen.Run(cmd.Context(), o)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Target, "target", "", "base URL of a running arena (default: start serve --all in a temp dir)")
	f.IntVar(&o.Matches, "matches", 10, "concurrent matches")
	f.DurationVar(&o.Duration, "duration", 20*time.Second, "how long new matches keep being started")
	f.IntVar(&o.Humans, "humans", 3, "simulated human players per match")
	f.IntVar(&o.Rounds, "rounds", 3, "rounds per match (self-started server only)")
	f.DurationVar(&o.Think, "think", 300*time.Millisecond, "a player waits up to this (uniformly) before answering or voting")
	f.DurationVar(&o.Ramp, "ramp", 2*time.Second, "spread the first matches' starts over this")
	f.DurationVar(&o.MatchTimeout, "match-timeout", 2*time.Minute, "a match not over within this counts as failed")
	f.BoolVar(&o.Baseline, "baseline", true, "also run the raw pipeline on the same broker and print ratios")
	f.StringSliceVar(&o.Brokers, "brokers", nil, "with --target: the broker the raw pipeline uses (default: no baseline)")
	f.IntVar(&o.IdlePlayers, "idle-players", 0, "first measure server memory per connected idle player with this many")
	f.DurationVar(&o.Progress, "progress", 2*time.Second, "interval of progress lines")
	f.BoolVar(&o.KeepDir, "keep", false, "keep the self-started server's directory (config, logs, data)")
	f.StringVar(&o.ProfileDir, "profile", "", "write CPU, mutex and block profiles of the self-started server's arena phase to this directory")
	cmd.AddCommand(newRawPipelineCmd(), newTuringCmd())
	return cmd
}

// newTuringCmd measures how often an automated detective picks the human
// out of the robots (docs/robots.md).
func newTuringCmd() *cobra.Command {
	o := turing.DefaultOptions()
	cmd := &cobra.Command{
		Use:    "turing",
		Short:  "Measure how often a detective using timing and text signals picks the human out of the robots",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := turing.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			rep.Write(cmd.OutOrStdout())
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Matches, "matches", o.Matches, "matches to play")
	f.IntVar(&o.Rounds, "rounds", o.Rounds, "rounds per match")
	f.IntVar(&o.Robots, "robots", o.Robots, "robots per match, beside the one simulated human")
	f.DurationVar(&o.Window, "window", o.Window, "answer window")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the simulation and of the scripted model")
	f.BoolVar(&o.Learn, "learn", o.Learn, "robots reword humans' answers from earlier matches (robot.learn)")
	f.BoolVar(&o.Blank, "blank", o.Blank, "robots know nothing of the log: built-in timing prior, no style, nothing learned")
	return cmd
}

// newRawPipelineCmd is the baseline server bench starts as a child process.
func newRawPipelineCmd() *cobra.Command {
	var cfg loadgen.RawConfig
	cmd := &cobra.Command{
		Use:    "raw-pipeline",
		Short:  "Serve the raw pipeline (WebSocket in, two Kafka hops, WebSocket out) that bench compares arena with",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(cfg.Brokers) == 0 {
				return fmt.Errorf("--brokers is required")
			}
			cfg.Logger = newLogger(config.Log{Level: "warn", Format: "text"}, cmd.ErrOrStderr())
			p, err := loadgen.NewRawPipeline(cfg)
			if err != nil {
				return err
			}
			return p.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&cfg.Brokers, "brokers", nil, "Kafka brokers")
	f.StringVar(&cfg.HTTPAddr, "http-addr", "127.0.0.1:0", "listen address")
	f.IntVar(&cfg.Partitions, "partitions", 6, "partitions of the raw topics")
	return cmd
}
