package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/llm"
)

// opsCommands are the operators' tools: checks of the model server and of a
// running process.
func opsCommands() []*cobra.Command {
	llmCmd := &cobra.Command{Use: "llm", Short: "Work with the model server the robots use"}
	llmCmd.AddCommand(newLLMCheckCmd())
	return []*cobra.Command{llmCmd, newHealthcheckCmd()}
}

func newLLMCheckCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Send one request per distinct robot model and say which work",
		Long: "check loads the configuration as serve would, sends one short chat request\n" +
			"for every model a robot plays (variants included) and prints one line per\n" +
			"model. It exits non-zero if any model fails, naming the robots affected.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			logger := newLogger(cfg.Log, cmd.ErrOrStderr())
			if cfg.LLM.EffectiveProvider() == config.ProviderScripted {
				fmt.Fprintln(out, "llm.provider is scripted (no API key, no llm.base_url): robots use the offline model; nothing to check.")
				fmt.Fprintln(out, "For a local server: ARENA_LLM_BASE_URL=http://localhost:11434 ARENA_LLM_MODEL=llama3.2 arena llm check")
				return nil
			}
			model, err := llm.NewOpenAI(cfg.LLM, logger)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), cfg.LLM.Timeout*time.Duration(cfg.LLM.MaxRetries+1)+5*time.Second)
			defer cancel()
			robots := cfg.ActivePersonalities()
			fmt.Fprintf(out, "server %s, %d robots\n", model.Server(), len(robots))
			checks := llm.CheckModels(ctx, model, robots, cfg.LLM.Model)
			failed := 0
			for _, c := range checks {
				who := strings.Join(c.Robots, ", ")
				if c.Err == nil {
					fmt.Fprintf(out, "ok    %-24s %5dms  robots: %s\n", c.Model, c.Took.Milliseconds(), who)
					continue
				}
				failed++
				fmt.Fprintf(out, "FAIL  %-24s robots: %s\n      %s\n", c.Model, who, c.Err)
				if h := llm.Hint(c.Err, c.Model); h != "" {
					fmt.Fprintf(out, "      fix: %s\n", h)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d models failed", failed, len(checks))
			}
			fmt.Fprintf(out, "all %d models answered\n", len(checks))
			return nil
		},
	}
	f := cmd.Flags()
	f.String("model", "", "model for every robot (llm.model)")
	f.String("base-url", "", "OpenAI-compatible base URL (llm.base_url)")
	f.StringSlice("robots", nil, "only these personalities (robot.personalities)")
	return cmd
}
