package app

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// newHealthcheckCmd checks a running arena over HTTP, for images without
// curl (the distroless one) and for scripts: exit 0 when healthy.
func newHealthcheckCmd() *cobra.Command {
	var ready bool
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 if the arena at http.addr answers /healthz (or /readyz with --ready)",
		Long: "healthcheck asks a running arena process, by default the one at http.addr on\n" +
			"this machine, whether it is alive (/healthz) or ready for traffic (/readyz,\n" +
			"--ready). It is the distroless image's HEALTHCHECK, which has no curl.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := "/healthz"
			if ready {
				path = "/readyz"
			}
			if url == "" {
				cfg, err := loadConfig(cmd)
				if err != nil {
					return err
				}
				url = "http://" + localAddr(cfg.HTTP.Addr) + path
			}
			client := &http.Client{Timeout: timeout}
			resp, err := client.Get(url)
			if err != nil {
				return fmt.Errorf("healthcheck %s: %w", url, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("healthcheck %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", url, strings.TrimSpace(string(body)))
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&ready, "ready", false, "check /readyz (ready for traffic) instead of /healthz (alive)")
	f.StringVar(&url, "url", "", "URL to check (default http://<http.addr>/healthz, with 0.0.0.0 as 127.0.0.1)")
	f.DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	f.String("http-addr", "", "address arena listens on (http.addr)")
	return cmd
}

// localAddr turns a listen address into one to dial on this machine: a
// wildcard host (0.0.0.0, ::, empty) becomes loopback.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if ip != nil && ip.To4() == nil {
			host = "::1"
		} else {
			host = "127.0.0.1"
		}
	}
	return net.JoinHostPort(host, port)
}
