package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/kafka"
)

// storageTimeout bounds backup and restore, which take as long as the log
// is big (about 45,000 records a second restored here), so that brokers
// that never answer still end them.
const storageTimeout = time.Hour

// brokerDataDir is where the embedded broker keeps its data.
func brokerDataDir(dataDir string) string { return filepath.Join(dataDir, "kafka") }

func newBackupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write every record of match-events to FILE as JSON lines (kcat -J style)",
		Long: "backup reads match-events, the permanent record of every match, from its start\n" +
			"to its current end and writes one JSON object per record, in the shape\n" +
			"`kcat -C -J` prints (topic, partition, offset, ts, headers, key, payload).\n" +
			"Everything else arena keeps (match-state, views, group offsets) is rebuilt\n" +
			"from match-events. FILE \"-\" is stdout. Brokers are found as for replay.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onLog(cmd, storageTimeout, true, func(ctx context.Context, _ config.Config, clients *kafka.Clients) error {
				out := cmd.OutOrStdout()
				var f *os.File
				var err error
				if args[0] != "-" {
					// Written beside the target and renamed: a failed backup
					// never leaves a half file under the name.
					f, err = os.CreateTemp(filepath.Dir(args[0]), ".arena-backup-*")
					if err != nil {
						return err
					}
					defer os.Remove(f.Name())
					defer f.Close()
					out = f
				}
				n, err := kafka.Backup(ctx, clients, clients.Topics.MatchEvents, out)
				if err != nil {
					return fmt.Errorf("backup: %w", err)
				}
				if f != nil {
					if err := f.Sync(); err != nil {
						return err
					}
					if err := f.Close(); err != nil {
						return err
					}
					if err := os.Rename(f.Name(), args[0]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "backed up %d records of %s to %s\n", n, clients.Topics.MatchEvents, args[0])
				}
				return nil
			})
		},
	}
	addLogFlags(cmd)
	return cmd
}

func newRestoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Append a backup's records to an empty match-events, each to its partition",
		Long: "restore reads a file written by `arena backup` (or kcat -J lines of\n" +
			"match-events) and appends every record to the partition it came from, with\n" +
			"its key, headers and timestamp. match-events must be empty (a new data_dir)\n" +
			"and have the partition count the backup was written with. The materializer\n" +
			"then rebuilds history and stats. Brokers are found as for replay.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			return onLog(cmd, storageTimeout, false, func(ctx context.Context, cfg config.Config, clients *kafka.Clients) error {
				if err := ensureTopics(ctx, cfg, clients); err != nil {
					return err
				}
				n, err := kafka.Restore(ctx, clients, clients.Topics.MatchEvents, in)
				if err != nil {
					return fmt.Errorf("restore: %w", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "restored %d records into %s\n", n, clients.Topics.MatchEvents)
				return nil
			})
		},
	}
	addLogFlags(cmd)
	return cmd
}

// onBrokerData runs fn on the embedded broker's data directory of the
// command's config, holding the data directory's lock (so no broker runs).
func onBrokerData(cmd *cobra.Command, fn func(cfg config.Config, dir string) error) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	lock, err := kafka.LockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	return fn(cfg, brokerDataDir(cfg.DataDir))
}

// newBrokerCheckCmd and newBrokerRepairCmd work on the embedded broker's
// data directory with no broker running (they take its lock).
func newBrokerCheckCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the embedded broker's segments (CRC of every batch, continuity of offsets); exit 1 on damage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return onBrokerData(cmd, func(_ config.Config, dir string) error {
				rep, err := kafka.CheckSegments(dir)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "checked %d partitions, %d segments, %d batches in %s\n", rep.Partitions, rep.Segments, rep.Batches, dir)
				for _, d := range rep.Torn {
					fmt.Fprintf(out, "incomplete write (cut at the next start): %s\n", d)
				}
				for _, d := range rep.Damage {
					fmt.Fprintf(out, "DAMAGED: %s\n", d)
				}
				if len(rep.Damage) > 0 {
					return fmt.Errorf("%d damaged partitions: `arena broker repair` cuts them there", len(rep.Damage))
				}
				return nil
			})
		},
	}
	cmd.Flags().String("data-dir", "", "data directory (data_dir); the broker keeps its data in DIR/kafka")
	return cmd
}

func newBrokerRepairCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repair",
		Short: "Cut each damaged partition of the embedded broker at its damage, and report what was cut",
		Long: "repair checks the embedded broker's segments like `arena broker check` and cuts\n" +
			"every damaged partition where its damage starts: the records from that offset\n" +
			"on are removed. It prints one line per cut. Take a copy of the data directory\n" +
			"first if you may want to try harder; `arena restore` of a backup into a new\n" +
			"data directory is the way back without loss.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return onBrokerData(cmd, func(cfg config.Config, dir string) error {
				cuts, err := kafka.RepairSegments(dir)
				cutEvents := false
				for _, c := range cuts {
					fmt.Fprintln(cmd.OutOrStdout(), c.String())
					cutEvents = cutEvents || c.Topic == events.TopicNames(cfg.Kafka.TopicPrefix).MatchEvents
				}
				if cutEvents {
					// match-state is derived and is not cut with match-events.
					fmt.Fprintln(cmd.OutOrStdout(), "note: match-state still holds checkpoints of matches whose events were cut; every module ignores them at its next start, so restart the gateways")
				}
				if err != nil {
					return err
				}
				if len(cuts) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "nothing to cut in %s\n", dir)
				}
				return nil
			})
		},
	}
	cmd.Flags().String("data-dir", "", "data directory (data_dir); the broker keeps its data in DIR/kafka")
	return cmd
}
