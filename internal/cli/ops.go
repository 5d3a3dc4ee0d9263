package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// opSpec describes one subcommand that runs a plugin Admin operation.
type opSpec struct {
	use, op, short, long string
	// flags registers the op's own flags; args copies the ones given into
	// the args object (JSON keys use snake_case).
	flags func(fs *pflag.FlagSet)
	args  func(fs *pflag.FlagSet, args map[string]any) (cleanup func(), err error)
	// render prints the result; nil prints it as indented JSON on stdout.
	render func(a *app, cmd *cobra.Command, result json.RawMessage) error
}

func (a *app) opCommands() []*cobra.Command {
	var feedFile, feedName string
	var feedMinLevel int
	var reportOut string

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
			long:  "Load an indicator feed file (IPsum ipsum.txt, levels/N.txt, or a list of IPs/CIDRs) into the\nedgewatch-indicators-NAME lookup index. --file - reads the feed from stdin.",
			flags: func(fs *pflag.FlagSet) {
				fs.StringVar(&feedFile, "file", "", "feed `file`, - for stdin (required)")
				fs.IntVar(&feedMinLevel, "min-level", 0, "minimum IPsum level to load")
				fs.StringVar(&feedName, "name", "ipsum", "feed name")
			},
			args: func(fs *pflag.FlagSet, args map[string]any) (func(), error) {
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
				return cleanup, nil
			},
		}),
		a.opCommand(opSpec{use: "status", op: "feed.status", short: "Show the indicator feeds loaded in the cluster"}),
	)

	return []*cobra.Command{
		feed,
		a.opCommand(opSpec{use: "install", op: "install", short: "Install index templates, dashboards and monitors into the cluster"}),
		a.opCommand(opSpec{use: "uninstall", op: "uninstall", short: "Remove what install created from the cluster"}),
		a.opCommand(opSpec{
			use: "report", op: "report", short: "Write a report of recent alerts",
			flags: func(fs *pflag.FlagSet) {
				fs.StringVar(&reportOut, "out", "", "report `file` (e.g. report.html); default: print the result")
			},
			args: func(fs *pflag.FlagSet, args map[string]any) (func(), error) {
				if reportOut != "" {
					args["out"] = reportOut
				}
				return nil, nil
			},
			render: func(a *app, cmd *cobra.Command, result json.RawMessage) error {
				if reportOut == "" {
					return printJSON(cmd.OutOrStdout(), result)
				}
				content := []byte(result)
				var doc struct {
					HTML *string `json:"html"`
				}
				if json.Unmarshal(result, &doc) == nil && doc.HTML != nil {
					content = []byte(*doc.HTML)
				}
				if err := WriteFileAtomic(reportOut, content); err != nil {
					return err
				}
				fmt.Fprintf(a.env.Stderr, "edgewatch: report written to %s\n", reportOut)
				return nil
			},
		}),
		a.opCommand(opSpec{use: "status", op: "status", short: "Show edgewatch's state in the cluster (runs, checkpoints, feeds)"}),
	}
}

// opCommand builds a subcommand that marshals its flags and the cluster
// flags into args JSON and calls the plugin's Exec.
func (a *app) opCommand(spec opSpec) *cobra.Command {
	var cf clusterFlags
	var sets []string
	cmd := &cobra.Command{
		Use:   spec.use,
		Short: spec.short,
		Long:  spec.long,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exec(cmd, spec, &cf, sets)
		},
	}
	fs := cmd.Flags()
	if spec.flags != nil {
		spec.flags(fs)
	}
	cf.register(fs)
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
		cleanup, err := spec.args(fs, args)
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

// inputPath returns a file path for an input flag; "-" copies stdin to a
// private temporary file (the plugin process reads paths, not the host's
// stdin) that cleanup removes.
func (a *app) inputPath(p string) (string, func(), error) {
	if p != "-" {
		if _, err := os.Stat(p); err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", nil, usageErrorf("--file %s: %v", p, err)
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
