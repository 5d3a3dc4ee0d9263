package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// adminFlags are the flags every command that calls a plugin operation
// takes: where the cluster is (the cluster flags, or --opensearch URL /
// --elasticsearch URL) and --set for the arguments that have no flag.
type adminFlags struct {
	cluster      clusterFlags
	osURL, esURL string
	sets         []string
}

func (f *adminFlags) register(fs *pflag.FlagSet) {
	f.cluster.register(fs)
	fs.StringVar(&f.osURL, "opensearch", "", "OpenSearch `URL`: short for --source opensearch --url URL")
	fs.StringVar(&f.esURL, "elasticsearch", "", "Elasticsearch `URL`: short for --source elasticsearch --url URL")
	fs.StringArrayVar(&f.sets, "set", nil, "extra argument `key=value` for the operation (value parsed as JSON when valid; repeatable)")
}

// settings builds the settings and secrets of an operation from the flags
// and the config file.
func (a *app) adminSettings(cmd *cobra.Command, f *adminFlags) (wire.Settings, map[string]string, error) {
	if err := clusterShorthand(cmd.Flags(), f.osURL, f.esURL); err != nil {
		return wire.Settings{}, nil, err
	}
	return a.buildSettings(cmd.Flags(), nil, &f.cluster, time.Now().UTC())
}

// printOp builds op's arguments from the settings, runs op and prints its
// result as JSON.
func printOp[A, R any](a *app, cmd *cobra.Command, af *adminFlags, op wire.Op[A, R], args func(s wire.Settings) (A, error)) error {
	s, secrets, err := a.adminSettings(cmd, af)
	if err != nil {
		return err
	}
	in, err := args(s)
	if err != nil {
		return err
	}
	res, err := callOp(a, cmd, op, in, secrets, af.sets, nil)
	if err != nil {
		return err
	}
	return printJSON(cmd.OutOrStdout(), res)
}

// callOp starts the plugin and runs op with args (--set applied), showing
// its progress on stderr; s, when not nil, also receives the stream.
func callOp[A, R any](a *app, cmd *cobra.Command, op wire.Op[A, R], args A, secrets map[string]string, sets []string, s plugin.Stream) (R, error) {
	var res R
	if err := applySets(op.Name, &args, sets); err != nil {
		return res, err
	}
	ctx, cancel, err := a.timeoutContext(cmd.Context())
	if err != nil {
		return res, err
	}
	defer cancel()
	client, err := a.launch(ctx)
	if err != nil {
		return res, err
	}
	defer client.Close()

	progress := newProgressLine(a.env.Stderr, a.env.StderrIsTerminal && a.logFormat == "text")
	res, err = plugin.Call(ctx, client, op, args, secrets, &opStream{progress: progress, next: s})
	progress.Clear()
	if errors.Is(err, plugin.ErrUnknownOp) {
		offers := "none"
		if ops := client.Info().Operations; len(ops) > 0 {
			offers = strings.Join(ops, ", ")
		}
		return res, fmt.Errorf("operation %q is not available in plugin %s (it offers: %s)", op.Name, client.Info().Name, offers)
	}
	return res, err
}

// applySets merges --set key=value pairs into args: the value is JSON when
// it parses as JSON, else a string. A key the operation does not take is a
// usage error.
func applySets[A any](op string, args *A, sets []string) error {
	if len(sets) == 0 {
		return nil
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode %s arguments: %w", op, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return fmt.Errorf("encode %s arguments: %w", op, err)
	}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageErrorf("--set %q: want key=value", kv)
		}
		if json.Valid([]byte(v)) {
			fields[k] = json.RawMessage(v)
		} else {
			fields[k], _ = json.Marshal(v)
		}
	}
	merged, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("encode %s arguments: %w", op, err)
	}
	dec := json.NewDecoder(bytes.NewReader(merged))
	dec.DisallowUnknownFields()
	var out A
	if err := dec.Decode(&out); err != nil {
		return usageErrorf("--set: %s arguments: %v", op, err)
	}
	*args = out
	return nil
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
	source, u := wire.SourceOpenSearch, osURL
	if esURL != "" {
		source, u = wire.SourceElasticsearch, esURL
	}
	if err := fs.Set("source", source); err != nil {
		return usageErrorf("--%s: %v", source, err)
	}
	if err := fs.Set("url", u); err != nil {
		return usageErrorf("--%s: %v", source, err)
	}
	return nil
}

// printJSON prints v indented on w.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// opStream shows an operation's progress and hands the stream on to next.
type opStream struct {
	progress *progressLine
	next     plugin.Stream
}

func (o *opStream) Progress(ctx context.Context, p plugin.Progress) error {
	o.progress.Update(p)
	if o.next != nil {
		return o.next.Progress(ctx, p)
	}
	return nil
}

func (o *opStream) Alerts(ctx context.Context, batch plugin.AlertBatch) error {
	if o.next != nil {
		return o.next.Alerts(ctx, batch)
	}
	return nil
}
