// Package app holds arena's commands, the role table and the wiring of
// modules into one process with an ordered start and stop.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/arena-hq/arena/config"
)

// version is set at build time with -ldflags "-X .../app.version=v1.2.3".
var version = ""

// Version returns the build's version.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// errQuiet marks an error already reported to the user.
var errQuiet = errors.New("")

// Execute runs the arena command line and returns the exit status.
func Execute() int {
	return run(os.Args[1:], os.Stdout, os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		if !errors.Is(err, errQuiet) {
			// One line, so scripts and operators see the reason at once.
			fmt.Fprintln(stderr, "arena: "+strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		return 1
	}
	return 0
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "arena",
		Short:         "Human or Robot? A real-time party game on Kafka",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version(),
	}
	root.SetVersionTemplate("arena {{.Version}} (" + runtime.Version() + ")\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.String("config", "", "config file (default ./arena.yaml, then the user config dir)")
	pf.String("log-level", "", "log level: debug, info, warn, error")
	pf.String("log-format", "", "log format: text or json")
	root.AddCommand(
		newServeCmd(),
		newBrokerCmd(),
		newTopicsCmd(),
		newConfigCmd(),
		newVersionCmd(),
	)
	root.AddCommand(extraCommands()...)
	root.AddCommand(opsCommands()...)
	return root
}

// loadConfig loads and validates the config for a command, from --config,
// ARENA_* env and the command's flags.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	flags := pflag.NewFlagSet("all", pflag.ContinueOnError)
	flags.AddFlagSet(cmd.Flags())
	flags.AddFlagSet(cmd.InheritedFlags())
	file, _ := flags.GetString("config")
	loaded, err := config.Load(config.LoadOptions{File: file, Flags: flags, FlagKeys: map[string]string{"addr": "kafka.embedded_addr"}})
	if err != nil {
		return config.Config{}, err
	}
	warn := newLogger(loaded.Config.Log, cmd.ErrOrStderr())
	for _, w := range loaded.Warnings {
		warn.Warn(w)
	}
	return loaded.Config, nil
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		opts.ReplaceAttr = secondsAttr
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// secondsAttr writes durations as seconds (a float) in JSON logs, the unit
// log collectors and Prometheus use, instead of slog's integer nanoseconds.
func secondsAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.Float64Value(a.Value.Duration().Seconds())
	}
	return a
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "arena "+Version())
			return nil
		},
	}
}
