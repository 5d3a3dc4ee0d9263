package servecmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/edgewatch/edgewatch/internal/serve"
	"github.com/edgewatch/edgewatch/internal/version"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Options are the command's environment.
type Options struct {
	// Getenv reads secrets' environment variables, $CREDENTIALS_DIRECTORY
	// and the variables systemd sets for a service (default os.Getenv).
	Getenv func(string) string
	// Executable is the host executable, next to which plugins are looked
	// for (default os.Executable).
	Executable func() string
	// Version is reported by /healthz.
	Version string
	// Signals, when set, replaces the process signals (tests).
	Signals <-chan os.Signal
	// Usage turns a command-line or configuration mistake into the root
	// command's usage error (exit code 2); default: a *UsageError.
	Usage func(err error) error
}

// UsageError is the default Options.Usage error: a command-line or
// configuration mistake.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Command returns `edgewatch serve`.
func Command(o Options) *cobra.Command {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Executable == nil {
		o.Executable = func() string { exe, _ := os.Executable(); return exe }
	}
	if o.Usage == nil {
		o.Usage = func(err error) error { return &UsageError{err} }
	}
	var listen string
	var check bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the detections continuously: schedule, webhook, /healthz, /metrics",
		Long: `serve runs each configured detection on its interval, incrementally from its
checkpoint in the state index, and answers:

  GET  /healthz                    ok or degraded (lag over max_lag, silent external
                                   trigger, failed run), backfills in progress (JSON)
  GET  /metrics                    Prometheus metrics
  POST /v1/detections/NAME/run     trigger a run (bearer token or HMAC signature);
                                   what an Elastic Watcher webhook action or an
                                   OpenSearch Alerting notification channel calls.
                                   A body {"from": T, "to": T} runs a backfill in the
                                   background (at most max_backfill, default 7d)
  GET  /v1/runs/ID                 a triggered run's progress and outcome

SIGHUP reloads the configuration (a bad file is logged and the old one kept);
SIGTERM and SIGINT stop gracefully (the run in progress is abandoned without
advancing its checkpoint). A crashed plugin is restarted with backoff.

Logs go to stderr as text; under systemd (INVOCATION_ID or JOURNAL_STREAM
set) to stdout as JSON lines, unless log.format or --log-format says
otherwise. Secret files may name systemd credentials:
file: ${CREDENTIALS_DIRECTORY}/NAME.`,
		Example: `  edgewatch serve --config /etc/edgewatch/edgewatch.yaml
  edgewatch serve --config serve.yaml --listen 127.0.0.1:8080
  edgewatch serve --config serve.yaml --check     # validate and exit`,
		Args: cobra.NoArgs,
		// serve reads its own configuration file (--config), not the run
		// settings file the other commands read: this replaces the root's
		// set-up for this command.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd, o, listen, check)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "HTTP listen address (overrides the config's listen; default :8080)")
	cmd.Flags().BoolVar(&check, "check", false, "validate the configuration (with the plugin) and exit")
	return cmd
}

func stringFlag(cmd *cobra.Command, name string) (string, bool) {
	f := cmd.Flags().Lookup(name)
	if f == nil {
		return "", false
	}
	return f.Value.String(), f.Changed
}

func arrayFlag(cmd *cobra.Command, name string) []string {
	v, err := cmd.Flags().GetStringArray(name)
	if err != nil {
		return nil
	}
	return v
}

func run(cmd *cobra.Command, o Options, listen string, check bool) error {
	path, _ := stringFlag(cmd, "config")
	if path == "" {
		return o.Usage(errors.New("serve: --config FILE is required (see `edgewatch serve --help`)"))
	}
	cfg, err := serve.LoadConfig(path, o.Getenv)
	if err != nil {
		return o.Usage(err)
	}
	if f, changed := stringFlag(cmd, "log-format"); changed {
		cfg.Log.Format = f
	}
	if l, changed := stringFlag(cmd, "log-level"); changed {
		cfg.Log.Level = l
	}
	log := cfg.NewLogger(logOutput(cmd, cfg, o.Getenv))

	pluginPath, sum, err := findPlugin(cmd, cfg, o)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	// The plugin process lives as long as serve, not as long as the call
	// that happens to start it; and a shutdown signal first cancels the
	// runs (the plugin abandons their windows cleanly) before the
	// supervisor stops the process.
	pctx, stopPlugins := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPlugins()
	sup := serve.NewSupervisor(func(context.Context) (serve.PluginProcess, error) {
		c, err := plugin.Launch(pctx, pluginPath, plugin.Options{Logger: log, SHA256: sum})
		if err != nil {
			return nil, permanentStartError(err)
		}
		log.Info("plugin started", "plugin", c.Info().Name, "version", c.Info().Version, "pid", c.Pid(), "startup", c.StartupTime())
		return process{c: c, log: log}, nil
	}, serve.SupervisorOptions{Logger: log})
	defer sup.Close()

	if err := sup.Validate(ctx, cfg); err != nil {
		if errors.Is(err, serve.ErrConfig) {
			return o.Usage(fmt.Errorf("%s: %w", path, err))
		}
		return err
	}
	if check {
		fmt.Fprintf(cmd.OutOrStdout(), "%s: configuration OK (%d detections, plugin %s)\n", path, len(cfg.Detections), pluginPath)
		return nil
	}

	srv, err := serve.New(cfg, serve.Options{
		Runner: serve.PluginRunner{Sup: sup, Progress: progressLog{log}}, FeedRunner: serve.PluginRunner{Sup: sup, Progress: progressLog{log}},
		Plugin: sup.Status, Logger: log, Holder: wire.NewHolderID(), Version: o.Version,
		Validate: sup.Validate,
	})
	if err != nil {
		return err
	}
	sigs := o.Signals
	if sigs == nil {
		ch := make(chan os.Signal, 4)
		signal.Notify(ch, syscall.SIGHUP, syscall.SIGTERM, os.Interrupt)
		defer signal.Stop(ch)
		sigs = ch
	}
	return srv.Run(ctx, listen, sigs, o.Getenv)
}

// findPlugin resolves the plugin from the config, then the root's
// --plugin-dir and --plugin-sha256 flags.
func findPlugin(cmd *cobra.Command, cfg *serve.Config, o Options) (string, []byte, error) {
	name := cfg.Plugin.Name
	if name == "" {
		name = plugin.DefaultPlugin
	}
	dirs := append(arrayFlag(cmd, "plugin-dir"), cfg.Plugin.Dirs...)
	self := o.Executable()
	path, err := plugin.Find(name, plugin.SearchDirs(dirs, self), self)
	if err != nil {
		return "", nil, err
	}
	hexsum := cfg.Plugin.SHA256
	for _, v := range arrayFlag(cmd, "plugin-sha256") {
		if n, h, ok := strings.Cut(v, "="); ok {
			if n == filepath.Base(path) {
				hexsum = h
			}
			continue
		}
		hexsum = v
	}
	if hexsum == "" {
		// The checksum a packaged edgewatch carries for its plugin.
		hexsum = version.PluginSHA256(filepath.Base(path))
	}
	if hexsum == "" {
		return path, nil, nil
	}
	sum, err := plugin.ParseSHA256(hexsum)
	if err != nil {
		return "", nil, o.Usage(fmt.Errorf("plugin sha256: %w", err))
	}
	return path, sum, nil
}

// process adapts a plugin.Client to serve.PluginProcess.
type process struct {
	c   *plugin.Client
	log *slog.Logger
}

func (p process) Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, s plugin.Stream) (json.RawMessage, error) {
	return p.c.Exec(ctx, op, args, secrets, s)
}

func (p process) Validate(ctx context.Context, settings json.RawMessage, secrets map[string]string) ([]string, error) {
	diags, err := p.c.Validate(ctx, plugin.Config{Settings: settings, Secrets: secrets})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range diags {
		if d.Severity != plugin.SeverityError {
			p.log.Warn("settings warning", "field", d.Field, "summary", d.Summary, "detail", d.Detail)
			continue
		}
		msg := d.Summary
		if d.Field != "" {
			msg = d.Field + ": " + msg
		}
		if d.Detail != "" {
			msg += " (" + d.Detail + ")"
		}
		out = append(out, msg)
	}
	return out, nil
}

func (p process) Exited() bool { return p.c.Exited() }
func (p process) Close()       { p.c.Close() }

// progressLog logs an operation's progress at debug level; alerts are
// already stored by the plugin and are not streamed to serve's output.
type progressLog struct{ log *slog.Logger }

func (l progressLog) Progress(ctx context.Context, p plugin.Progress) error {
	l.log.Log(ctx, slog.LevelDebug, "operation progress", "stage", p.Stage, "done", p.Done, "total", p.Total, "unit", p.Unit, "message", p.Message)
	return nil
}

func (progressLog) Alerts(context.Context, plugin.AlertBatch) error { return nil }
