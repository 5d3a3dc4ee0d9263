package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// opSpec describes one subcommand that runs a plugin Admin operation.
type opSpec struct {
	use, op, short, long, example string
	// flags registers the op's own flags; args copies the ones given into
	// the args object (JSON keys use snake_case).
	flags func(fs *pflag.FlagSet)
	// secrets receives the op's own secrets (webhook token...).
	args func(fs *pflag.FlagSet, args map[string]any, secrets map[string]string) (cleanup func(), err error)
	// render prints the result; nil prints it as indented JSON on stdout.
	render func(a *app, cmd *cobra.Command, result json.RawMessage) error
}

// Environment variables of install's secrets (never passed to plugins).
const (
	EnvWebhookToken       = "EDGEWATCH_WEBHOOK_TOKEN"
	EnvDashboardsPassword = "EDGEWATCH_DASHBOARDS_PASSWORD"
)

// stackFlags are the flags install and uninstall share (issue 6):
// Dashboards / Kibana target and the detection the triggers run.
type stackFlags struct {
	dashboards, kibana       string
	space, tenant            string
	dashboardsUser, dashPass string
	detection                string
	dryRun, asJSON           bool
}

func (f *stackFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.dashboards, "dashboards", "", "OpenSearch Dashboards `URL` (with --opensearch): import the bundled saved objects")
	fs.StringVar(&f.kibana, "kibana", "", "Kibana `URL` (with --elasticsearch): import the bundled saved objects")
	fs.StringVar(&f.space, "space", "", "Kibana space id (with --kibana)")
	fs.StringVar(&f.tenant, "tenant", "", "OpenSearch Dashboards security tenant (with --dashboards)")
	fs.StringVar(&f.dashboardsUser, "dashboards-username", "", "Dashboards/Kibana user when it differs from --username (password from $"+EnvDashboardsPassword+" or --dashboards-password-file)")
	fs.StringVar(&f.dashPass, "dashboards-password-file", "", "file holding the Dashboards/Kibana password")
	fs.StringVar(&f.detection, "detection", "", "detection the schedule trigger runs (default \"default\")")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print what would be done and change nothing")
	fs.BoolVar(&f.asJSON, "json", false, "print the steps as JSON")
}

func (f *stackFlags) args(a *app, fs *pflag.FlagSet, args map[string]any, secrets map[string]string) error {
	if f.dashboards != "" && f.kibana != "" {
		return usageErrorf("give --dashboards (OpenSearch Dashboards) or --kibana, not both")
	}
	if (f.space != "" || f.tenant != "") && f.dashboards == "" && f.kibana == "" {
		return usageErrorf("--space and --tenant need --kibana or --dashboards")
	}
	if f.space != "" && f.dashboards != "" {
		return usageErrorf("--space is a Kibana feature; OpenSearch Dashboards uses --tenant")
	}
	if f.tenant != "" && f.kibana != "" {
		return usageErrorf("--tenant is an OpenSearch Dashboards feature; Kibana uses --space")
	}
	setIf(args, "dashboards_url", f.dashboards)
	setIf(args, "kibana_url", f.kibana)
	setIf(args, "space", f.space)
	setIf(args, "tenant", f.tenant)
	setIf(args, "dashboards_username", f.dashboardsUser)
	setIf(args, "detection", f.detection)
	if f.dryRun {
		args["dry_run"] = true
	}
	pw, err := a.secret(f.dashPass, EnvDashboardsPassword, "--dashboards-password-file")
	if err != nil {
		return err
	}
	if pw != "" {
		secrets[wire.SecretDashboardsPassword] = pw
	}
	return nil
}

func setIf(args map[string]any, key, v string) {
	if v != "" {
		args[key] = v
	}
}

func (a *app) opCommands() []*cobra.Command {
	var feedFile, feedName, statusName string
	var feedMinLevel int
	var feedAllowEmpty bool
	var reportOut, reportAlerts, reportTitle string
	var reportMax int
	var inst, uninst stackFlags
	var retentionDays int
	var triggers bool
	var edgewatchURL, tokenFile, triggerInterval string
	var deleteData bool

	feed := &cobra.Command{
		Use:   "feed",
		Short: "Manage indicator feeds in the cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf("feed: want a subcommand: load or status")
		},
	}
	feed.AddCommand(
		a.opCommand(opSpec{
			use: "load", op: "feed.load",
			short: "Load an indicator feed file into the cluster's lookup index",
			long: "Load an indicator feed file (IPsum ipsum.txt, levels/N.txt, or a list of IPs/CIDRs) into the\n" +
				"edgewatch-indicators-NAME lookup index: a fresh index, made live by one atomic alias swap.\n" +
				"A failed load leaves the live feed as it was. --file - reads the feed from stdin.",
			flags: func(fs *pflag.FlagSet) {
				fs.StringVar(&feedFile, "file", "", "feed `file`, - for stdin (required)")
				fs.IntVar(&feedMinLevel, "min-level", 0, "minimum IPsum level to load")
				fs.StringVar(&feedName, "name", "ipsum", "feed name")
				fs.BoolVar(&feedAllowEmpty, "allow-empty", false, "let a feed file without indicators replace the live feed")
			},
			args: func(fs *pflag.FlagSet, args map[string]any, _ map[string]string) (func(), error) {
				if feedFile == "" {
					return nil, usageErrorf("feed load: --file is required")
				}
				path, cleanup, err := a.inputPath(feedFile)
				if err != nil {
					return nil, err
				}
				args["file"] = path
				args["name"] = feedName
				if fs.Changed("min-level") {
					args["min_level"] = feedMinLevel
				}
				if feedAllowEmpty {
					args["allow_empty"] = true
				}
				return cleanup, nil
			},
		}),
		a.opCommand(opSpec{
			use: "status", op: "feed.status", short: "Show the indicator feeds loaded in the cluster (size per level, age)",
			flags: func(fs *pflag.FlagSet) {
				fs.StringVar(&statusName, "name", "", "feed name (default: every live feed)")
			},
			args: func(_ *pflag.FlagSet, args map[string]any, _ map[string]string) (func(), error) {
				setIf(args, "name", statusName)
				return nil, nil
			},
		}),
	)

	install := a.opCommand(opSpec{
		use: "install", op: "install",
		short: "Prepare a stack: index templates, retention policy, dashboards, triggers",
		long: `Install everything edgewatch needs into an OpenSearch or Elasticsearch stack, idempotently:
index templates and the state and alert indices, the alert retention policy (ISM on OpenSearch,
ILM on Elasticsearch), the bundled saved objects into OpenSearch Dashboards or Kibana, and
optionally the schedule trigger that calls edgewatch serve. Every step is reported as ok,
already-present, updated, skipped (with the reason) or failed (with the server's reason);
the exit status is 1 when a step failed.`,
		example: `  edgewatch install --opensearch http://127.0.0.1:9200 --dashboards http://127.0.0.1:5601
  edgewatch install --elasticsearch https://es:9200 --username elastic --password-file pw \
                    --kibana https://kibana:5601 --space soc --retention-days 30 \
                    --triggers --edgewatch-url https://edgewatch:8443 --edgewatch-token-file token
  edgewatch install --opensearch http://127.0.0.1:9200 --dry-run`,
		flags: func(fs *pflag.FlagSet) {
			inst.register(fs)
			fs.IntVar(&retentionDays, "retention-days", 0, "delete alert indices this many `days` after creation (default 90)")
			fs.BoolVar(&triggers, "triggers", false, "install the schedule trigger (Watcher on Elasticsearch, Alerting on OpenSearch)")
			fs.StringVar(&edgewatchURL, "edgewatch-url", "", "edgewatch serve's base `URL` as the cluster reaches it (with --triggers)")
			fs.StringVar(&tokenFile, "edgewatch-token-file", "", "file holding the webhook bearer token (or $"+EnvWebhookToken+")")
			fs.StringVar(&triggerInterval, "trigger-interval", "", "trigger period, e.g. 5m (default 5m)")
		},
		args: func(fs *pflag.FlagSet, args map[string]any, secrets map[string]string) (func(), error) {
			if err := inst.args(a, fs, args, secrets); err != nil {
				return nil, err
			}
			if fs.Changed("retention-days") {
				if retentionDays < 1 {
					return nil, usageErrorf("--retention-days %d: want 1 or more", retentionDays)
				}
				args["retention_days"] = retentionDays
			}
			if !triggers && (edgewatchURL != "" || tokenFile != "" || triggerInterval != "") {
				return nil, usageErrorf("--edgewatch-url, --edgewatch-token-file and --trigger-interval need --triggers")
			}
			if triggers {
				if edgewatchURL == "" {
					return nil, usageErrorf("--triggers needs --edgewatch-url (edgewatch serve's URL as the cluster reaches it)")
				}
				tok, err := a.secret(tokenFile, EnvWebhookToken, "--edgewatch-token-file")
				if err != nil {
					return nil, err
				}
				if tok == "" {
					return nil, usageErrorf("--triggers needs the webhook token: --edgewatch-token-file or $%s", EnvWebhookToken)
				}
				secrets[wire.SecretWebhookToken] = tok
				args["triggers"] = true
				args["edgewatch_url"] = edgewatchURL
				if triggerInterval != "" {
					d, err := wire.ParseDuration(triggerInterval)
					if err != nil || d <= 0 {
						return nil, usageErrorf("--trigger-interval %q: want a duration such as 5m", triggerInterval)
					}
					args["trigger_interval"] = wire.Duration(d)
				}
			}
			return nil, nil
		},
		render: func(a *app, cmd *cobra.Command, result json.RawMessage) error {
			return renderSteps(cmd.OutOrStdout(), result, inst.asJSON)
		},
	})

	uninstall := a.opCommand(opSpec{
		use: "uninstall", op: "uninstall",
		short: "Remove what install put into the stack (data kept unless --delete-data)",
		long: `Remove what edgewatch install put: the schedule trigger, the saved objects (with --dashboards or
--kibana), the retention policy and the index templates. Alert indices, indicator feeds and the
state index are kept unless --delete-data; with --alert-index and/or --indicator-feed only those
are deleted (and the shared state index is kept).`,
		flags: func(fs *pflag.FlagSet) {
			uninst.register(fs)
			fs.BoolVar(&deleteData, "delete-data", false, "also delete alert indices, indicator feeds and the state index")
		},
		args: func(fs *pflag.FlagSet, args map[string]any, secrets map[string]string) (func(), error) {
			if err := uninst.args(a, fs, args, secrets); err != nil {
				return nil, err
			}
			if deleteData {
				args["delete_data"] = true
			}
			return nil, nil
		},
		render: func(a *app, cmd *cobra.Command, result json.RawMessage) error {
			return renderSteps(cmd.OutOrStdout(), result, uninst.asJSON)
		},
	})

	return []*cobra.Command{
		feed,
		install,
		uninstall,
		a.opCommand(opSpec{
			use: "report", op: "report", short: "Write an HTML report of the alerts (from the alert index or an alerts file)",
			long: `Render the dashboard's panels as one self-contained HTML page: from the cluster's alert index
(the newest --max-alerts alerts), run records and live feed, or with --alerts FILE from an alerts
NDJSON file such as the --out of edgewatch run (no cluster needed).`,
			example: `  edgewatch run --device-info di.ndjson --network-events ev.ndjson --feed ipsum.txt --out alerts.ndjson
  edgewatch report --alerts alerts.ndjson --out report.html
  edgewatch report --opensearch http://127.0.0.1:9200 --out report.html`,
			flags: func(fs *pflag.FlagSet) {
				fs.StringVar(&reportOut, "out", "", "report `file` (e.g. report.html); default: print the result")
				fs.StringVar(&reportAlerts, "alerts", "", "alerts NDJSON `file` (plain or gzip, - for stdin) instead of the alert index")
				fs.IntVar(&reportMax, "max-alerts", 0, "read at most this many of the newest alerts from the index (default 100000)")
				fs.StringVar(&reportTitle, "title", "", "page title")
			},
			args: func(fs *pflag.FlagSet, args map[string]any, _ map[string]string) (func(), error) {
				setIf(args, "out", reportOut)
				setIf(args, "title", reportTitle)
				if reportMax < 0 {
					return nil, usageErrorf("--max-alerts %d: want 1 or more", reportMax)
				}
				if reportMax > 0 {
					args["max_alerts"] = reportMax
				}
				if reportAlerts == "" {
					return nil, nil
				}
				path, cleanup, err := a.inputPathFlag("--alerts", reportAlerts)
				if err != nil {
					return nil, err
				}
				args["alerts"] = path
				return cleanup, nil
			},
			render: func(a *app, cmd *cobra.Command, result json.RawMessage) error {
				if reportOut == "" {
					return printJSON(cmd.OutOrStdout(), result)
				}
				content := []byte(result)
				var doc struct {
					HTML   *string `json:"html"`
					Alerts *int    `json:"alerts"`
				}
				if json.Unmarshal(result, &doc) == nil && doc.HTML != nil {
					content = []byte(*doc.HTML)
				}
				if err := WriteFileAtomic(reportOut, content); err != nil {
					return err
				}
				if doc.Alerts != nil {
					fmt.Fprintf(a.env.Stderr, "edgewatch: report of %d alerts written to %s\n", *doc.Alerts, reportOut)
				} else {
					fmt.Fprintf(a.env.Stderr, "edgewatch: report written to %s\n", reportOut)
				}
				return nil
			},
		}),
		a.opCommand(opSpec{use: "status", op: "status", short: "Show edgewatch's state in the cluster (feeds, checkpoints, last runs)"}),
	}
}

// renderSteps prints install/uninstall steps, one line each, and fails
// (exit 1) when a step failed.
func renderSteps(w io.Writer, result json.RawMessage, asJSON bool) error {
	var r wire.StepsResult
	if err := json.Unmarshal(result, &r); err != nil {
		return printJSON(w, result)
	}
	if asJSON {
		if err := printJSON(w, result); err != nil {
			return err
		}
	} else {
		head := r.Operation + " on " + r.Cluster
		if r.DryRun {
			head += " (dry run: nothing changed)"
		}
		fmt.Fprintln(w, head)
		for _, s := range r.Steps {
			line := fmt.Sprintf("  %-16s %-20s %s", s.Outcome, s.Step, s.Target)
			if s.Detail != "" {
				line += ": " + s.Detail
			}
			fmt.Fprintln(w, line)
		}
		var parts []string
		for _, k := range wire.StepOutcomes {
			if n := r.Outcomes[k]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, k))
			}
		}
		fmt.Fprintf(w, "%d steps: %s\n", len(r.Steps), strings.Join(parts, ", "))
	}
	if r.Failed > 0 {
		return fmt.Errorf("%s: %d step(s) failed", r.Operation, r.Failed)
	}
	return nil
}

// opCommand builds a subcommand that marshals its flags and the cluster
// flags into args JSON and calls the plugin's Exec.
func (a *app) opCommand(spec opSpec) *cobra.Command {
	var cf clusterFlags
	var sets []string
	var osURL, esURL string
	cmd := &cobra.Command{
		Use:     spec.use,
		Short:   spec.short,
		Long:    spec.long,
		Example: spec.example,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := clusterShorthand(cmd.Flags(), osURL, esURL); err != nil {
				return err
			}
			return a.exec(cmd, spec, &cf, sets)
		},
	}
	fs := cmd.Flags()
	if spec.flags != nil {
		spec.flags(fs)
	}
	cf.register(fs)
	fs.StringVar(&osURL, "opensearch", "", "OpenSearch `URL`: short for --source opensearch --url URL")
	fs.StringVar(&esURL, "elasticsearch", "", "Elasticsearch `URL`: short for --source elasticsearch --url URL")
	fs.StringArrayVar(&sets, "set", nil, "extra argument `key=value` for the operation (value parsed as JSON when valid; repeatable)")
	return cmd
}

func (a *app) exec(cmd *cobra.Command, spec opSpec, cf *clusterFlags, sets []string) error {
	fs := cmd.Flags()
	settings, secrets, err := a.buildSettings(fs, nil, cf, time.Now().UTC())
	if err != nil {
		return err
	}
	args := map[string]any{"settings": settings}
	if spec.args != nil {
		cleanup, err := spec.args(fs, args, secrets)
		if cleanup != nil {
			defer cleanup()
		}
		if err != nil {
			return err
		}
	}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageErrorf("--set %q: want key=value", kv)
		}
		if json.Valid([]byte(v)) {
			args[k] = json.RawMessage(v)
		} else {
			args[k] = v
		}
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode args: %w", err)
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

	progress := newProgressLine(a.env.Stderr, a.env.StderrIsTerminal && a.logFormat == "text")
	st := &opStream{progress: progress}
	result, err := client.Exec(ctx, spec.op, raw, secrets, st)
	progress.Clear()
	if err != nil {
		if errors.Is(err, plugin.ErrUnknownOp) {
			offers := "none"
			if ops := client.Info().Operations; len(ops) > 0 {
				offers = strings.Join(ops, ", ")
			}
			return fmt.Errorf("operation %q is not available in plugin %s (it offers: %s)",
				spec.op, client.Info().Name, offers)
		}
		return err
	}
	if st.alerts > 0 {
		fmt.Fprintf(a.env.Stderr, "edgewatch: %s found %d alerts\n", spec.op, st.alerts)
	}
	if spec.render != nil {
		return spec.render(a, cmd, result)
	}
	return printJSON(cmd.OutOrStdout(), result)
}

// clusterShorthand turns --opensearch URL / --elasticsearch URL into
// --source and --url.
func clusterShorthand(fs *pflag.FlagSet, osURL, esURL string) error {
	if osURL == "" && esURL == "" {
		return nil
	}
	if osURL != "" && esURL != "" {
		return usageErrorf("give --opensearch or --elasticsearch, not both")
	}
	if fs.Changed("source") || fs.Changed("url") {
		return usageErrorf("--opensearch/--elasticsearch URL replace --source and --url: give one form")
	}
	source, u := "opensearch", osURL
	if esURL != "" {
		source, u = "elasticsearch", esURL
	}
	if err := fs.Set("source", source); err != nil {
		return usageErrorf("--%s: %v", source, err)
	}
	if err := fs.Set("url", u); err != nil {
		return usageErrorf("--%s: %v", source, err)
	}
	return nil
}

// inputPath returns a file path for an input flag; "-" copies stdin to a
// private temporary file (the plugin process reads paths, not the host's
// stdin) that cleanup removes.
func (a *app) inputPath(p string) (string, func(), error) { return a.inputPathFlag("--file", p) }

// inputPathFlag is inputPath for the input flag named flag.
func (a *app) inputPathFlag(flag, p string) (string, func(), error) {
	if p != "-" {
		if _, err := os.Stat(p); err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", nil, usageErrorf("%s %s: %v", flag, p, err)
		}
		// The plugin runs in another working directory only if someone
		// changes that; an absolute path is safe either way.
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return p, nil, nil
	}
	f, err := os.CreateTemp("", "edgewatch-stdin-*")
	if err != nil {
		return "", nil, fmt.Errorf("stdin: %w", err)
	}
	cleanup := func() { _ = os.Remove(f.Name()) }
	if _, err := io.Copy(f, a.env.Stdin); err != nil {
		f.Close()
		cleanup()
		return "", nil, fmt.Errorf("read stdin: %w", err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("stdin: %w", err)
	}
	return f.Name(), cleanup, nil
}

func printJSON(w io.Writer, raw json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// opStream shows an operation's progress and counts alerts it reports.
type opStream struct {
	progress *progressLine
	alerts   int
}

func (o *opStream) Progress(_ context.Context, p plugin.Progress) error {
	o.progress.Update(p)
	return nil
}

func (o *opStream) Alerts(_ context.Context, batch []plugin.Alert) error {
	o.alerts += len(batch)
	o.progress.Alerts(o.alerts)
	return nil
}
