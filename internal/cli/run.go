package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgewatch/edgewatch/internal/atomicfile"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runFlags are `edgewatch run`'s own flags.
type runFlags struct {
	deviceInfo     []string
	networkEvents  []string
	feeds          []string
	feedName       string
	minLevel       int
	from, to       string
	facingLookback string
	excludePorts   []int
	allow          []string
	groupBy        []string
	groupWindow    string
	format         string
	out            string
	allowEmptyFeed bool
	noIndex        bool
}

// clusterFlags select the source and reach a cluster; run and every
// operation take them.
type clusterFlags struct {
	source             string
	urls               []string
	username           string
	passwordFile       string
	apiKeyFile         string
	caFile             string
	insecureSkipVerify bool
	profile            string
	deviceInfoIndex    string
	networkEventsIndex string
	alertIndex         string
	indicatorFeed      string
}

func (c *clusterFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.source, "source", "file", "where the Defender data is: file, opensearch or elasticsearch")
	fs.StringSliceVar(&c.urls, "url", nil, "cluster URL (repeatable)")
	fs.StringVar(&c.username, "username", "", "cluster user name (password from $"+EnvPassword+" or --password-file)")
	fs.StringVar(&c.passwordFile, "password-file", "", "file holding the cluster password")
	fs.StringVar(&c.apiKeyFile, "api-key-file", "", "file holding a cluster API key (or $"+EnvAPIKey+")")
	fs.StringVar(&c.caFile, "ca-file", "", "PEM file of the CA that signed the cluster's certificate")
	fs.BoolVar(&c.insecureSkipVerify, "insecure-skip-verify", false, "do not verify the cluster's TLS certificate (testing only)")
	fs.StringVar(&c.profile, "profile", "", "field profile of the indexed data: advanced-hunting, sentinel, streaming, elastic-m365, custom")
	fs.StringVar(&c.deviceInfoIndex, "device-info-index", "", "index (pattern) holding DeviceInfo")
	fs.StringVar(&c.networkEventsIndex, "network-events-index", "", "index (pattern) holding DeviceNetworkEvents")
	fs.StringVar(&c.alertIndex, "alert-index", "", "write alias alerts go through (default edgewatch-alerts-<detection>; a single index of that name is written as it is until install migrates it)")
	fs.StringVar(&c.indicatorFeed, "indicator-feed", "", "indicator lookup index feed name (edgewatch-indicators-NAME) instead of --feed files")
}

func (a *app) runCommand() *cobra.Command {
	var rf runFlags
	var cf clusterFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the detection once and write the alerts",
		Long: `Run the detection once and write the alerts.

Where the alerts go (the summary on stderr lists each place and its count):
  - --out FILE, or stdout (the default, --out -): every alert of the run,
    as NDJSON documents or a table (--format). Files are written atomically.
  - a cluster run (--source opensearch|elasticsearch) also creates them in
    its alert index (--alert-index, default edgewatch-alerts-default), as a
    scheduled run does, and records the run in edgewatch-state; a rerun
    creates nothing twice (the summary counts them as already present).
    --no-index makes it read only: no alert index, no run record.
  - a file run (the default source) writes no index.

Exit codes: 0 success; 1 the run failed (the cluster refused or could not
be reached, a write failed); 2 a usage or input error (a flag, the config,
a missing or unreadable input file, a feed without indicators, an index
that does not exist).`,
		Example: `  edgewatch run --device-info DeviceInfo.ndjson --network-events DeviceNetworkEvents.ndjson.gz \
                --feed ipsum.txt --min-level 3 --format table
  edgewatch run --source opensearch --url https://127.0.0.1:9200 --username admin \
                --indicator-feed ipsum --from -24h --to now --out alerts.ndjson
  edgewatch run --source elasticsearch --url https://127.0.0.1:9200 --no-index \
                --indicator-feed ipsum --from -7d --format table`,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.run(cmd, &rf, &cf) },
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&rf.deviceInfo, "device-info", nil, "DeviceInfo `file` (NDJSON, JSON, CSV, gzip; repeatable)")
	fs.StringArrayVar(&rf.networkEvents, "network-events", nil, "DeviceNetworkEvents `file` (repeatable)")
	fs.StringArrayVar(&rf.feeds, "feed", nil, "indicator feed `file`: IPsum ipsum.txt or levels/N.txt, or a list of IPs/CIDRs (repeatable)")
	fs.StringVar(&rf.feedName, "feed-name", "", "name the --feed files' indicators carry in alerts (default: ipsum for IPsum's files, else the file's name)")
	fs.IntVar(&rf.minLevel, "min-level", 0, "minimum IPsum level (count of blacklists) for files with counts")
	fs.StringVar(&rf.from, "from", "", "window start: RFC 3339, YYYY-MM-DD, now, or relative like -24h, -7d")
	fs.StringVar(&rf.to, "to", "", "window end (same forms as --from)")
	fs.StringVar(&rf.facingLookback, "facing-lookback", "", "how far before --from DeviceInfo rows count (e.g. 30d)")
	fs.IntSliceVar(&rf.excludePorts, "exclude-port", nil, "local `port` never alerted on, e.g. 25 (repeatable)")
	fs.StringSliceVar(&rf.allow, "allow", nil, "remote `CIDR` never alerted on, e.g. known scanners (repeatable)")
	fs.StringSliceVar(&rf.groupBy, "group-by", nil, "group alerts by up to 3 alert `field`s (host.id, source.ip, destination.port, process.name…): one alert per group and window, with its event count")
	fs.StringVar(&rf.groupWindow, "group-window", "", "grouping window, aligned to UTC multiples of it (default 24h with --group-by)")
	fs.StringVar(&rf.format, "format", "ndjson", "output format: ndjson (ECS alert documents) or table")
	fs.StringVar(&rf.out, "out", "-", "output `file`, - for stdout (written atomically); a cluster run writes its alert index as well")
	fs.BoolVar(&rf.allowEmptyFeed, "allow-empty-feed", false, "run even when the feeds yield no indicator (the run then cannot alert; refused by default)")
	fs.BoolVar(&rf.noIndex, "no-index", false, "cluster runs: read only, write no alert index and no run record (alerts go to --out only)")
	cf.register(fs)
	return cmd
}

// buildSettings merges flags over the config file into the settings
// document and the secrets. rf is nil for operations (no run inputs).
func (a *app) buildSettings(fs *pflag.FlagSet, rf *runFlags, cf *clusterFlags, now time.Time) (wire.Settings, map[string]string, error) {
	c := a.cfg
	s := wire.Settings{
		Trigger:       "cli",
		Source:        pickString(fs, "source", cf.source, c.Source),
		DeviceInfo:    c.DeviceInfo,
		NetworkEvents: c.NetworkEvents,
		Feeds:         c.Feeds,
		FeedName:      c.FeedName,
		KeepNonGlobal: c.KeepNonGlobal,
		ExcludePorts:  c.ExcludePorts,
		Allow:         c.Allow,
		RuleID:        c.RuleID,
		RuleName:      c.RuleName,
	}
	if c.MinLevel != nil {
		s.MinLevel = *c.MinLevel
	}
	from, to, lookback := c.From, c.To, c.FacingLookback
	if rf != nil {
		s.DeviceInfo = pickList(fs, "device-info", rf.deviceInfo, c.DeviceInfo)
		s.NetworkEvents = pickList(fs, "network-events", rf.networkEvents, c.NetworkEvents)
		s.Feeds = pickList(fs, "feed", rf.feeds, c.Feeds)
		s.FeedName = pickString(fs, "feed-name", rf.feedName, c.FeedName)
		if fs.Changed("min-level") {
			s.MinLevel = rf.minLevel
		}
		from = pickString(fs, "from", rf.from, c.From)
		to = pickString(fs, "to", rf.to, c.To)
		lookback = pickString(fs, "facing-lookback", rf.facingLookback, c.FacingLookback)
		if fs.Changed("exclude-port") {
			s.ExcludePorts = rf.excludePorts
		}
		s.Allow = pickList(fs, "allow", rf.allow, c.Allow)
		s.AllowEmptyFeed = rf.allowEmptyFeed || (!fs.Changed("allow-empty-feed") && c.AllowEmptyFeed)
		s.GroupBy = pickList(fs, "group-by", rf.groupBy, c.GroupBy)
		window := pickString(fs, "group-window", rf.groupWindow, c.GroupWindow)
		if err := groupSettings(&s, window); err != nil {
			return s, nil, err
		}
	}
	switch s.Source {
	case "file", "opensearch", "elasticsearch":
	default:
		return s, nil, usageErrorf("--source %q: want file, opensearch or elasticsearch", s.Source)
	}
	var err error
	if s.From, err = ParseTime(from, now); err != nil {
		return s, nil, usageErrorf("--from: %v", err)
	}
	if s.To, err = ParseTime(to, now); err != nil {
		return s, nil, usageErrorf("--to: %v", err)
	}
	if !s.From.IsZero() && !s.To.IsZero() && !s.From.Before(s.To) {
		return s, nil, usageErrorf("--from %s is not before --to %s", s.From.Format(time.RFC3339), s.To.Format(time.RFC3339))
	}
	lb, err := wire.ParseDuration(lookback)
	if err != nil || lb < 0 {
		return s, nil, usageErrorf("--facing-lookback %q: want a duration such as 30d", lookback)
	}
	s.FacingLookback = wire.Duration(lb)
	if s.MinLevel < 0 {
		return s, nil, usageErrorf("--min-level %d: want 0 or more", s.MinLevel)
	}
	for _, p := range s.ExcludePorts {
		if p < 0 || p > 65535 {
			return s, nil, usageErrorf("--exclude-port %d: not a port number", p)
		}
	}

	cc := c.Cluster
	cl := &wire.ClusterSettings{
		URLs:               pickList(fs, "url", cf.urls, cc.URLs),
		Username:           pickString(fs, "username", cf.username, cc.Username),
		CAFile:             pickString(fs, "ca-file", cf.caFile, cc.CAFile),
		InsecureSkipVerify: cf.insecureSkipVerify || (!fs.Changed("insecure-skip-verify") && cc.InsecureSkipVerify),
		Profile:            pickString(fs, "profile", cf.profile, cc.Profile),
		ProfileFields:      cc.ProfileFields,
		DeviceInfoIndex:    pickString(fs, "device-info-index", cf.deviceInfoIndex, cc.DeviceInfoIndex),
		NetworkEventsIndex: pickString(fs, "network-events-index", cf.networkEventsIndex, cc.NetworkEventsIndex),
		AlertIndex:         pickString(fs, "alert-index", cf.alertIndex, cc.AlertIndex),
		IndicatorFeed:      pickString(fs, "indicator-feed", cf.indicatorFeed, cc.IndicatorFeed),
	}
	if cc.Timeout != "" {
		d, err := wire.ParseDuration(cc.Timeout)
		if err != nil {
			return s, nil, usageErrorf("config cluster.timeout: %v", err)
		}
		cl.Timeout = wire.Duration(d)
	}
	if s.Source != wire.SourceFile || clusterSet(cl) {
		s.Cluster = cl
	}
	if rf != nil && s.Cluster != nil {
		s.Cluster.NoIndex = rf.noIndex || (!fs.Changed("no-index") && cc.NoIndex)
		if s.Cluster.NoIndex && fs.Changed("alert-index") {
			return s, nil, usageErrorf("--no-index writes no alert index: drop --alert-index %s or --no-index", cl.AlertIndex)
		}
	}

	secrets := map[string]string{}
	pw, err := a.secret(pickString(fs, "password-file", cf.passwordFile, cc.PasswordFile), EnvPassword, "--password-file")
	if err != nil {
		return s, nil, err
	}
	if pw != "" {
		secrets[wire.SecretPassword] = pw
	}
	key, err := a.secret(pickString(fs, "api-key-file", cf.apiKeyFile, cc.APIKeyFile), EnvAPIKey, "--api-key-file")
	if err != nil {
		return s, nil, err
	}
	if key != "" {
		secrets[wire.SecretAPIKey] = key
	}
	return s, secrets, nil
}

// groupSettings checks the grouping flags' shape (the plugin checks the
// field names): at most 3 fields, a window only with them.
func groupSettings(s *wire.Settings, window string) error {
	d, err := wire.ParseDuration(window)
	if err != nil || d < 0 {
		return usageErrorf("--group-window %q: want a duration such as 24h", window)
	}
	if len(s.GroupBy) > 3 {
		return usageErrorf("--group-by %s: at most 3 fields", strings.Join(s.GroupBy, ","))
	}
	if d != 0 && len(s.GroupBy) == 0 {
		return usageErrorf("--group-window needs --group-by")
	}
	s.GroupWindow = wire.Duration(d)
	return nil
}

// clusterSet reports whether any cluster setting was given.
func clusterSet(c *wire.ClusterSettings) bool {
	return len(c.URLs) > 0 || c.Username != "" || c.CAFile != "" || c.InsecureSkipVerify ||
		c.Profile != "" || len(c.ProfileFields) > 0 || c.DeviceInfoIndex != "" || c.NetworkEventsIndex != "" ||
		c.AlertIndex != "" || c.IndicatorFeed != "" || c.Timeout != 0
}

// secret reads a secret from a file (trailing newline trimmed) or else the
// environment. Its value never appears in errors or logs.
func (a *app) secret(file, env, flag string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fileUsageError(flag, file, err)
		}
		return validSecret(flag+" "+file, strings.TrimRight(string(b), "\r\n"))
	}
	return validSecret("$"+env, a.env.Getenv(env))
}

// validSecret refuses a secret that is not valid UTF-8 (a password file
// saved in a legacy code page): it travels to the plugin as a protobuf
// string, which must be UTF-8, and changing it would change the secret.
func validSecret(from, v string) (string, error) {
	if !utf8.ValidString(v) {
		return "", usageErrorf("%s: the secret is not valid UTF-8 (save it as UTF-8)", from)
	}
	return v, nil
}

// checkInputs fails early, naming the file, when a file-mode input is
// missing or unreadable.
func checkInputs(s wire.Settings) error {
	if s.Source != "file" {
		return nil
	}
	check := func(flag string, paths []string) error {
		for _, p := range paths {
			f, err := os.Open(p)
			if err != nil {
				return fileUsageError(flag, p, err)
			}
			fi, err := f.Stat()
			f.Close()
			if err == nil && fi.IsDir() {
				return usageErrorf("%s %s: is a directory", flag, p)
			}
		}
		return nil
	}
	if err := check("--device-info", s.DeviceInfo); err != nil {
		return err
	}
	if err := check("--network-events", s.NetworkEvents); err != nil {
		return err
	}
	return check("--feed", s.Feeds)
}

func (a *app) run(cmd *cobra.Command, rf *runFlags, cf *clusterFlags) error {
	if a.env.OwnProcess {
		relayProcs(a.env.Getenv)
	}
	started := time.Now()
	fs := cmd.Flags()
	settings, secrets, err := a.buildSettings(fs, rf, cf, started.UTC())
	if err != nil {
		return err
	}
	if err := checkInputs(settings); err != nil {
		return err
	}
	format := pickString(fs, "format", rf.format, a.cfg.Format)
	out := pickString(fs, "out", rf.out, a.cfg.Out)
	if format != "ndjson" && format != "table" {
		return usageErrorf("--format %q: want ndjson or table", format)
	}
	raw, err := json.Marshal(settings)
	if err != nil {
		return fmt.Errorf("encode settings: %w", err)
	}

	ctx, cancel, err := a.timeoutContext(cmd.Context())
	if err != nil {
		return err
	}
	defer cancel()
	client, err := a.launch(ctx)
	if err != nil {
		return err
	}
	defer client.Close()

	if err := a.validate(ctx, client, raw, secrets); err != nil {
		return err
	}

	var dst io.Writer = a.env.Stdout
	var file *atomicfile.File
	if out != "-" {
		if file, err = atomicfile.Create(out); err != nil {
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) || errors.Is(err, atomicfile.ErrIsDir) {
				return usageErrorf("--out: %v", err)
			}
			return err
		}
		defer file.Abort() // no-op after Commit
		dst = file
	}
	w, err := newAlertWriter(format, dst)
	if err != nil {
		return err
	}
	progress := newProgressLine(a.env.Stderr, a.env.StderrIsTerminal && a.logFormat == "text")
	stream := &runStream{out: w, progress: progress}
	a.log.Debug("run starting", "plugin", client.Info().Name, "source", settings.Source)
	req := plugin.RunRequest{Settings: raw, Secrets: secrets, AlertRows: format == "table"}
	if file != nil && format == "ndjson" {
		// The plugin may write the documents into the temporary file
		// itself: the bytes do not cross the plugin connection. The file
		// stays ours to sync and rename, or to remove on failure.
		req.AlertFile = file.Temp()
	}
	res, err := client.Run(ctx, req, stream)
	progress.Clear()
	if err != nil {
		return err
	}
	// The plugin has done its part (it wrote into the temporary file, if
	// at all, before it answered): it exits while the output is synced and
	// renamed. The deferred Close waits for it.
	go client.Close()
	if res.AlertFile != nil {
		stream.written = int(res.AlertFile.Documents)
		a.log.Debug("the plugin wrote the alert documents into the output's temporary file",
			"documents", res.AlertFile.Documents, "bytes", res.AlertFile.Bytes)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if file != nil {
		if err := file.Commit(); err != nil {
			return err
		}
	}
	totals := runTotals{Written: stream.written, Out: out, Format: format, Elapsed: time.Since(started), Startup: client.StartupTime(),
		NoIndex: settings.Source != wire.SourceFile && settings.Cluster != nil && settings.Cluster.NoIndex}
	if a.logFormat == "json" {
		a.log.Info("run finished", "summary", json.RawMessage(res.Summary), "sinks", sinksOf(res.Summary, totals),
			"written", totals.Written, "out", out, "elapsed_ms", totals.Elapsed.Milliseconds(), "startup_ms", totals.Startup.Milliseconds())
	} else {
		writeSummary(a.env.Stderr, res.Summary, totals)
	}
	return nil
}

// relayProcs gives the host of a run one P (unless the operator set
// GOMAXPROCS): the host only relays, it receives the plugin's alert batches
// and writes them, one after the other, while the plugin does the work on
// the other cores. With a second P the Go scheduler spun an idle thread on
// every frame's wake-up: one P costs 6% less CPU on the alert-heavy run
// and no wall time (README "Tests and benchmarks").
func relayProcs(getenv func(string) string) {
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// validate asks the plugin to check the settings; error diagnostics are
// printed one per line and fail with a usage error.
func (a *app) validate(ctx context.Context, client *plugin.Client, raw json.RawMessage, secrets map[string]string) error {
	diags, err := client.Validate(ctx, plugin.Config{Settings: raw, Secrets: secrets})
	if err != nil {
		return err
	}
	var errs []string
	for _, d := range diags {
		text := d.Summary
		if d.Field != "" {
			text = d.Field + ": " + text
		}
		if d.Detail != "" {
			text += " (" + d.Detail + ")"
		}
		if d.Severity == plugin.SeverityWarning {
			a.log.Warn("settings: "+text, slog.String("plugin", client.Info().Name))
			continue
		}
		errs = append(errs, text)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return usageErrorf("settings: %s", errs[0])
	}
	for _, e := range errs {
		fmt.Fprintf(a.env.Stderr, "edgewatch: settings: %s\n", oneLine(e))
	}
	return &reportedError{usage: true}
}
