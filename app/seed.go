package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/seed"
	"github.com/arena-hq/arena/modules/kafka"
)

func newSeedCmd() *cobra.Command {
	var opts seed.Options
	var now string
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Write sample finished matches into match-events, so history and stats have data",
		Long: "seed generates finished matches (quick and private, 3-8 seats, 1-3 humans,\n" +
			"3-5 rounds, robots from the configured stable answering with the offline\n" +
			"scripted model) spread over the past days, checks each one against the game's\n" +
			"rules and appends it to match-events, where the materializer picks it up.\n" +
			"The same --seed (and --now) gives the same matches with the same event ids,\n" +
			"so seeding twice adds no match: the copies are dropped as duplicates. Use\n" +
			"another --seed for more. Brokers are found as for replay.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Matches < 1 {
				return fmt.Errorf("--matches: must be at least 1, got %d", opts.Matches)
			}
			if opts.Days < 1 {
				return fmt.Errorf("--days: must be at least 1, got %d", opts.Days)
			}
			opts.Now = time.Now().UTC().Truncate(time.Minute)
			if now != "" {
				t, err := time.Parse(time.RFC3339, now)
				if err != nil {
					return fmt.Errorf("--now: %w", err)
				}
				opts.Now = t.UTC()
			}
			return onLog(cmd, logCommandTimeout, false, func(ctx context.Context, cfg config.Config, clients *kafka.Clients) error {
				if err := ensureTopics(ctx, cfg, clients); err != nil {
					return err
				}
				matches, err := seed.Write(ctx, clients, cfg, opts)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				for _, m := range matches {
					s := m.State
					fmt.Fprintf(out, "%s  %-7s  %d seats, %d humans, %d rounds  ended %s\n", s.MatchID, s.Settings.Mode,
						len(s.Seats), s.Humans(), s.Settings.Rounds, s.EndedAt.Format(time.RFC3339))
				}
				fmt.Fprintf(out, "seeded %d matches into %s\n", len(matches), clients.Topics.MatchEvents)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Matches, "matches", 10, "how many matches to write")
	f.Int64Var(&opts.Seed, "seed", 1, "random seed: the same seed writes the same matches")
	f.IntVar(&opts.Days, "days", 7, "spread the matches over this many past days")
	f.StringVar(&now, "now", "", "RFC 3339 time the matches end before (default: now, to the minute)")
	addLogFlags(cmd)
	return cmd
}

// ensureTopics creates arena's topics where missing, as serve does.
func ensureTopics(ctx context.Context, cfg config.Config, clients *kafka.Clients) error {
	cl, err := clients.New("seed-topics")
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = kafka.EnsureTopics(ctx, cl, clients.Topics, int32(cfg.Kafka.Partitions), int16(cfg.Kafka.ReplicationFactor))
	if err != nil && !errors.Is(err, kafka.ErrTopicMismatch) {
		return err
	}
	return nil
}
