package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/edgewatch/edgewatch/internal/serve/servecmd"
	"github.com/edgewatch/edgewatch/internal/version"
	"github.com/edgewatch/edgewatch/plugin/wire"

	"github.com/edgewatch/edgewatch/plugin"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes: one taxonomy for every command (wire.ErrInput).
const (
	ExitOK    = 0
	ExitError = 1 // the run (or operation) failed: the cluster, a write, the plugin
	ExitUsage = 2 // a usage or input error: flags, config, input files, feeds, indices
)

// Environment variables the host reads secrets from. They are never passed
// on to plugin processes (plugin.Launch filters them out).
const (
	EnvPassword = "EDGEWATCH_PASSWORD"
	EnvAPIKey   = "EDGEWATCH_API_KEY"
)

// Env is what Main talks to; tests substitute buffers.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Executable is the host executable (plugins are looked for next to
	// it); empty means os.Executable().
	Executable string
	// StderrIsTerminal enables the progress line.
	StderrIsTerminal bool
	// OwnProcess says that Main is the process's whole life (cmd/edgewatch),
	// so that a command may tune the runtime (run: relayProcs).
	OwnProcess bool
}

// Run is cmd/edgewatch's main: it wires signals (the first Ctrl-C or SIGTERM
// cancels the run and the plugin; a second one kills edgewatch) and the real
// process environment, runs Main and returns the exit code.
func Run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore default handling: a second signal terminates
	}()
	exe, _ := os.Executable()
	return Main(ctx, args, Env{
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		Getenv:           os.Getenv,
		Executable:       exe,
		StderrIsTerminal: isatty.IsTerminal(os.Stderr.Fd()) || isatty.IsCygwinTerminal(os.Stderr.Fd()),
		OwnProcess:       true,
	})
}

// Main runs the edgewatch command line and returns the exit code. Errors
// are printed as one line "edgewatch: ..." on stderr.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	a := &app{env: env, log: slog.New(slog.DiscardHandler)}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, errReported) {
		return exitCode(err)
	}
	if strings.HasPrefix(err.Error(), "unknown command ") {
		err = &usageError{msg: err.Error()}
	}
	fmt.Fprintf(env.Stderr, "edgewatch: %s\n", oneLine(errorText(ctx, err)))
	return exitCode(err)
}

// errReported marks an error whose details were already printed.
var errReported = errors.New("reported")

type reportedError struct{ usage bool }

func (r *reportedError) Error() string { return "errors reported above" }
func (r *reportedError) Is(t error) bool {
	return t == errReported || (r.usage && t == errUsage)
}

// exitCode sorts an error: a usage error of the host, or an input error
// of the host or the plugin (wire.ErrInput, which the plugin client gives
// the plugin's InvalidArgument answers), exits 2; anything else 1.
func exitCode(err error) int {
	if errors.Is(err, errUsage) || errors.Is(err, wire.ErrInput) {
		return ExitUsage
	}
	return ExitError
}

// errorText phrases cancellation and timeouts for people.
func errorText(ctx context.Context, err error) string {
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out: " + err.Error()
	}
	return err.Error()
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// app holds the state of one invocation.
type app struct {
	env Env
	log *slog.Logger
	cfg *Config

	configPath string
	logFormat  string
	logLevel   string
	pluginDirs []string
	pluginSHA  []string
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "edgewatch",
		Short: "Find inbound connections to internet-facing ports from threat-intel IPs",
		Long: `edgewatch correlates Microsoft Defender for Endpoint DeviceInfo and
DeviceNetworkEvents data (files, OpenSearch or Elasticsearch) with a
threat-intelligence feed (IPsum by default) and reports every inbound
connection an internet-facing device accepted on one of its internet-facing
ports from a listed address, as ECS alert documents.

The detection runs in a plugin process (edgewatch-defender-ti) that edgewatch
finds in --plugin-dir, next to its own executable, or in ` + plugin.SystemDir + `.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return a.setup(cmd) },
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "YAML config `file` (flags win over it)")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format on stderr: text or json")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	pf.StringArrayVar(&a.pluginDirs, "plugin-dir", nil, "directory to look for plugins in before the executable's own (repeatable)")
	pf.StringArrayVar(&a.pluginSHA, "plugin-sha256", nil, "expected SHA-256 of the plugin executable, `HEX` or NAME=HEX (repeatable)")

	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	root.AddCommand(a.runCommand(), a.pluginsCommand(), a.versionCommand())
	root.AddCommand(a.feedCommand(), a.installCommand(), a.uninstallCommand(), a.reportCommand(), a.statusCommand())
	root.AddCommand(servecmd.Command(servecmd.Options{
		Getenv:     a.env.Getenv,
		Executable: a.executable,
		Version:    hostVersion(),
		Usage:      func(err error) error { return &usageError{msg: err.Error()} },
	}))
	for _, c := range root.Commands() {
		markUsage(c)
	}
	return root
}

// markUsage makes argument-count errors usage errors, recursively.
func markUsage(c *cobra.Command) {
	if c.Args == nil {
		c.Args = cobra.NoArgs
	}
	args := c.Args
	c.Args = func(cmd *cobra.Command, a []string) error {
		if err := args(cmd, a); err != nil {
			return &usageError{msg: err.Error()}
		}
		return nil
	}
	for _, sub := range c.Commands() {
		markUsage(sub)
	}
}

// setup reads the config file and builds the logger.
func (a *app) setup(cmd *cobra.Command) error {
	a.cfg = &Config{}
	if a.configPath != "" {
		cfg, err := LoadConfig(a.configPath)
		if err != nil {
			return &usageError{msg: err.Error()}
		}
		a.cfg = cfg
	}
	fs := cmd.Flags()
	a.logFormat = pickString(fs, "log-format", a.logFormat, a.cfg.LogFormat)
	a.logLevel = pickString(fs, "log-level", a.logLevel, a.cfg.LogLevel)
	a.pluginDirs = pickList(fs, "plugin-dir", a.pluginDirs, a.cfg.PluginDir)
	a.pluginSHA = pickList(fs, "plugin-sha256", a.pluginSHA, a.cfg.PluginSHA256)

	level, ok := plugin.ParseLogLevel(a.logLevel)
	if !ok {
		return usageErrorf("--log-level %q: want trace, debug, info, warn or error", a.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: durationText}
	switch a.logFormat {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.env.Stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.env.Stderr, opts))
	default:
		return usageErrorf("--log-format %q: want text or json", a.logFormat)
	}
	return nil
}

// durationText writes a duration as its text ("1.5s"), in JSON logs too
// (where slog would write nanoseconds).
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

// pickString returns the flag value when the flag was given, else the
// config value when set, else the flag default.
func pickString(fs *pflag.FlagSet, name, flagVal, cfgVal string) string {
	if fs.Changed(name) || cfgVal == "" {
		return flagVal
	}
	return cfgVal
}

func pickList(fs *pflag.FlagSet, name string, flagVal, cfgVal []string) []string {
	if fs.Changed(name) || len(cfgVal) == 0 {
		return flagVal
	}
	return cfgVal
}

// executable is the host executable path.
func (a *app) executable() string {
	if a.env.Executable != "" {
		return a.env.Executable
	}
	exe, _ := os.Executable()
	return exe
}

// pluginName is the configured detector plugin (name or path).
func (a *app) pluginName() string {
	if a.cfg != nil && a.cfg.Plugin != "" {
		return a.cfg.Plugin
	}
	return plugin.DefaultPlugin
}

// checksumFor returns the configured SHA-256 for the plugin called name:
// a NAME=HEX entry for it, else a bare HEX entry when name is the selected
// plugin, else the checksum compiled into this host when it was packaged
// with that plugin (internal/version).
func (a *app) checksumFor(name string, selected bool) ([]byte, error) {
	var bare string
	for _, v := range a.pluginSHA {
		if n, hexsum, ok := strings.Cut(v, "="); ok {
			if n == name {
				return a.parseSHA(hexsum)
			}
			continue
		}
		bare = v
	}
	if bare != "" && selected {
		return a.parseSHA(bare)
	}
	if sum := version.PluginSHA256(name); sum != "" {
		return a.parseSHA(sum)
	}
	return nil, nil
}

func (a *app) parseSHA(s string) ([]byte, error) {
	b, err := plugin.ParseSHA256(s)
	if err != nil {
		return nil, &usageError{msg: "--plugin-sha256: " + err.Error()}
	}
	return b, nil
}

// launch finds and starts the selected detector plugin.
func (a *app) launch(ctx context.Context) (*plugin.Client, error) {
	self := a.executable()
	path, err := plugin.Find(a.pluginName(), plugin.SearchDirs(a.pluginDirs, self), self)
	if err != nil {
		return nil, err
	}
	sum, err := a.checksumFor(baseName(path), true)
	if err != nil {
		return nil, err
	}
	return plugin.Launch(ctx, path, plugin.Options{Logger: a.log, SHA256: sum})
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, os.PathSeparator); i >= 0 {
		return p[i+1:]
	}
	return p
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the edgewatch version",
		RunE: func(cmd *cobra.Command, _ []string) error {
			printVersion(cmd.OutOrStdout(), version.Get(), plugin.DefaultPlugin)
			return nil
		},
	}
}

// hostVersion is the release version /healthz reports.
func hostVersion() string { return version.Get().Version }

// timeoutContext applies the config's run timeout, if any.
func (a *app) timeoutContext(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if a.cfg == nil || a.cfg.Timeout == "" {
		return ctx, func() {}, nil
	}
	d, err := wire.ParseDuration(a.cfg.Timeout)
	if err != nil || d <= 0 {
		return nil, nil, usageErrorf("config timeout %q: want a positive duration", a.cfg.Timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, nil
}
