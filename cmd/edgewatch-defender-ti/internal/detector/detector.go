package detector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/gctune"
	"github.com/edgewatch/edgewatch/correlation"
	buildversion "github.com/edgewatch/edgewatch/internal/version"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Name is the plugin's name (and executable name).
const Name = "edgewatch-defender-ti"

// Description is the one-paragraph summary Describe returns.
const Description = "Finds inbound connections that an internet-facing device accepted on one of its " +
	"internet-facing ports from an IP address on a threat-intelligence list (IPsum by default), " +
	"over Defender for Endpoint DeviceInfo and DeviceNetworkEvents data in files, OpenSearch or " +
	"Elasticsearch, and writes ECS alert documents."

// RunFunc is the engine entry point (engine.Run; tests substitute fakes).
type RunFunc func(ctx context.Context, s wire.Settings, secrets map[string]string, obs engine.Observer) (*wire.Summary, error)

// Detector implements plugin.Detector over the engine and plugin.Admin
// with the operations it was given.
type Detector struct {
	run RunFunc
	ops *plugin.Mux
}

var (
	_ plugin.Detector = (*Detector)(nil)
	_ plugin.Admin    = (*Detector)(nil)
)

// Option configures New.
type Option func(*Detector)

// WithRunFunc replaces engine.Run.
func WithRunFunc(fn RunFunc) Option { return func(d *Detector) { d.run = fn } }

// WithOps serves the admin operations of m (default: none).
func WithOps(m *plugin.Mux) Option { return func(d *Detector) { d.ops = m } }

// New returns the detector the plugin binary serves.
func New(opts ...Option) *Detector {
	d := &Detector{run: engine.Run, ops: &plugin.Mux{}}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Describe reports the plugin's identity, settings schema and operations.
func (d *Detector) Describe(context.Context) (plugin.Info, error) {
	return plugin.Info{
		Name:            Name,
		Version:         version(),
		ProtocolVersion: plugin.ProtocolVersion,
		Description:     Description,
		SettingsSchema:  settingsSchema,
		Operations:      d.ops.Names(),
	}, nil
}

// version is the plugin's build identity in internal/version's one-line
// form (version, commit, build date: stamped by -ldflags, else from the
// build information); the host parses it back for `edgewatch plugins`.
func version() string { return buildversion.Get().String() }

// Validate checks a settings document: it decodes, its values are in range,
// and the inputs its source needs are named. Files are not opened.
func (d *Detector) Validate(_ context.Context, cfg plugin.Config) ([]plugin.Diagnostic, error) {
	s, err := wire.DecodeSettings(cfg.Settings)
	if err != nil {
		return []plugin.Diagnostic{{Severity: plugin.SeverityError, Summary: "settings do not decode", Detail: err.Error()}}, nil
	}
	return validate(s, cfg.Secrets), nil
}

func validate(s wire.Settings, secrets map[string]string) []plugin.Diagnostic {
	var diags []plugin.Diagnostic
	add := func(sev plugin.Severity, field, summary, detail string) {
		diags = append(diags, plugin.Diagnostic{Severity: sev, Field: field, Summary: summary, Detail: detail})
	}
	switch s.Source {
	case "", "file":
		if len(s.NetworkEvents) == 0 {
			add(plugin.SeverityError, "network_events", "no network events input", "file mode needs at least one --network-events file")
		}
		if len(s.DeviceInfo) == 0 {
			add(plugin.SeverityError, "device_info", "no device info input", "file mode needs at least one --device-info file")
		}
		if len(s.Feeds) == 0 {
			add(plugin.SeverityError, "feeds", "no indicator feed", "give --feed FILE (an IPsum ipsum.txt or levels/N.txt, or a list of IPs/CIDRs)")
		}
	case "opensearch", "elasticsearch":
		if s.Cluster == nil || len(s.Cluster.URLs) == 0 {
			add(plugin.SeverityError, "cluster.urls", "no cluster URL", "source "+s.Source+" needs --url")
		}
		if s.Cluster != nil && s.Cluster.Username != "" && secrets["password"] == "" {
			add(plugin.SeverityWarning, "cluster.username", "username without password",
				"set EDGEWATCH_PASSWORD or --password-file")
		}
		if len(s.Feeds) == 0 && (s.Cluster == nil || s.Cluster.IndicatorFeed == "") {
			add(plugin.SeverityError, "feeds", "no indicator feed", "give --feed FILE or --indicator-feed NAME")
		}
	default:
		add(plugin.SeverityError, "source", "unknown source", fmt.Sprintf("%q: want file, opensearch or elasticsearch", s.Source))
	}
	if s.MinLevel < 0 {
		add(plugin.SeverityError, "min_level", "negative minimum level", fmt.Sprint(s.MinLevel))
	}
	for _, p := range s.ExcludePorts {
		if p < 0 || p > 65535 {
			add(plugin.SeverityError, "exclude_ports", "not a port number", fmt.Sprint(p))
		}
	}
	for _, a := range s.Allow {
		if _, err := correlation.ParsePrefix(a); err != nil {
			add(plugin.SeverityError, "allow", "not an address or CIDR", a)
		}
	}
	if !s.From.IsZero() && !s.To.IsZero() && !s.From.Before(s.To) {
		add(plugin.SeverityError, "from", "empty window", "--from must be before --to")
	}
	if s.FacingLookback < 0 {
		add(plugin.SeverityError, "facing_lookback", "negative facing look-back", "")
	}
	if _, err := correlation.NewGroupSpec(s.GroupBy, time.Duration(s.GroupWindow)); err != nil {
		add(plugin.SeverityError, "group_by", "alerts cannot be grouped so", err.Error())
	}
	return diags
}

// Run decodes the settings, runs the engine, and streams its output.
func (d *Detector) Run(ctx context.Context, req plugin.RunRequest, s plugin.Stream) (plugin.Result, error) {
	settings, err := wire.DecodeSettings(req.Settings)
	if err != nil {
		return plugin.Result{}, wire.AsInput(err)
	}
	gctune.ForRun(settings.Source, len(settings.GroupBy) > 0)
	obs := &observer{ctx: ctx, s: s}
	sum, err := d.run(ctx, settings, req.Secrets, obs)
	if err != nil {
		if obs.err != nil && !errors.Is(err, obs.err) {
			err = fmt.Errorf("%w (stream: %v)", err, obs.err)
		}
		return plugin.Result{}, err
	}
	if sum == nil {
		return plugin.Result{}, errors.New("engine returned no summary")
	}
	raw, err := json.Marshal(sum)
	if err != nil {
		return plugin.Result{}, fmt.Errorf("encode summary: %w", err)
	}
	return plugin.Result{Summary: raw}, nil
}

// Exec runs one of the plugin's admin operations.
func (d *Detector) Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, s plugin.Stream) (json.RawMessage, error) {
	return d.ops.Exec(ctx, op, args, secrets, s)
}

// observer adapts the engine's Observer to a plugin.Stream: the engine's
// NDJSON goes to the host as it is, with each alert's display columns.
type observer struct {
	ctx context.Context
	s   plugin.Stream
	err error // first stream error, for the run's error message
}

func (o *observer) Progress(p wire.Progress) {
	if err := o.s.Progress(o.ctx, p); err != nil && o.err == nil {
		o.err = err
	}
}

func (o *observer) Alerts(ctx context.Context, batch engine.Batch) error {
	var rows []plugin.Row
	if rs, ok := o.s.(plugin.RowsStream); !ok || rs.WantsRows() {
		rows = make([]plugin.Row, len(batch.Alerts))
		for i, a := range batch.Alerts {
			rows[i] = RowOf(a)
		}
	}
	if err := o.s.Alerts(ctx, plugin.AlertBatch{NDJSON: batch.NDJSON, Rows: rows, Count: len(batch.Alerts)}); err != nil {
		if o.err == nil {
			o.err = err
		}
		return err
	}
	return nil
}

// RowOf returns an alert's display columns.
func RowOf(a *correlation.Alert) plugin.Row {
	r := plugin.Row{
		Timestamp:            a.Timestamp,
		DeviceName:           a.Host.Name,
		ThreatIntelligenceIP: a.Source.IP,
		LocalPort:            a.Dest.Port,
		RemotePort:           a.Source.Port,
		IPsumCount:           a.Edgewatch.Indicator.Count,
		Severity:             a.Edgewatch.Severity,
		ID:                   a.Event.ID,
		Feed:                 a.Threat.Feed.Name,
		Provider:             a.Threat.Indicator.Provider,
	}
	if a.Process != nil {
		r.InitiatingProcessFileName = a.Process.Name
	}
	return r
}
