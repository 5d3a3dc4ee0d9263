package detector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/engine"
	buildversion "github.com/edgewatch/edgewatch/internal/version"
	"github.com/edgewatch/edgewatch/plugin"
)

// Name is the plugin's name (and executable name).
const Name = "edgewatch-defender-ti"

// Description is the one-paragraph summary Describe returns.
const Description = "Finds inbound connections that an internet-facing device accepted on one of its " +
	"internet-facing ports from an IP address on a threat-intelligence list (IPsum by default), " +
	"over Defender for Endpoint DeviceInfo and DeviceNetworkEvents data in files, OpenSearch or " +
	"Elasticsearch, and writes ECS alert documents."

// RunFunc is the engine entry point (engine.Run; tests substitute fakes).
type RunFunc func(ctx context.Context, s engine.Settings, secrets map[string]string, obs engine.Observer) (*engine.Summary, error)

// Detector implements plugin.Detector and plugin.Admin over the engine.
type Detector struct {
	run RunFunc
	ops *Registry
}

var (
	_ plugin.Detector = (*Detector)(nil)
	_ plugin.Admin    = (*Detector)(nil)
)

// Option configures New.
type Option func(*Detector)

// WithRunFunc replaces engine.Run.
func WithRunFunc(fn RunFunc) Option { return func(d *Detector) { d.run = fn } }

// WithOps replaces the default operation registry.
func WithOps(r *Registry) Option { return func(d *Detector) { d.ops = r } }

// New returns the detector the plugin binary serves.
func New(opts ...Option) *Detector {
	d := &Detector{run: engine.Run, ops: defaultOps}
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

// decodeSettings reads the settings document strictly: an unknown key is an
// error (a typo in a config file, or a host newer than this plugin).
func decodeSettings(raw json.RawMessage) (engine.Settings, error) {
	var s engine.Settings
	if len(bytes.TrimSpace(raw)) == 0 {
		return s, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("settings: %w", err)
	}
	return s, nil
}

// Validate checks a settings document: it decodes, its values are in range,
// and the inputs its source needs are named. Files are not opened.
func (d *Detector) Validate(_ context.Context, cfg plugin.Config) ([]plugin.Diagnostic, error) {
	s, err := decodeSettings(cfg.Settings)
	if err != nil {
		return []plugin.Diagnostic{{Severity: plugin.SeverityError, Summary: "settings do not decode", Detail: err.Error()}}, nil
	}
	return validate(s, cfg.Secrets), nil
}

func validate(s engine.Settings, secrets map[string]string) []plugin.Diagnostic {
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
		if _, err := netip.ParsePrefix(a); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(a); err != nil {
			add(plugin.SeverityError, "allow", "not an address or CIDR", a)
		}
	}
	if !s.From.IsZero() && !s.To.IsZero() && !s.From.Before(s.To) {
		add(plugin.SeverityError, "from", "empty window", "--from must be before --to")
	}
	if s.FacingLookback < 0 {
		add(plugin.SeverityError, "facing_lookback", "negative facing look-back", "")
	}
	// The engine may grow its own checks; use them when it has them.
	if v, ok := any(s).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			add(plugin.SeverityError, "", "invalid settings", err.Error())
		}
	}
	return diags
}

// Run decodes the settings, runs the engine, and streams its output.
func (d *Detector) Run(ctx context.Context, req plugin.RunRequest, s plugin.Stream) (plugin.Result, error) {
	settings, err := decodeSettings(req.Settings)
	if err != nil {
		return plugin.Result{}, err
	}
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

// Exec runs a registered operation.
func (d *Detector) Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, s plugin.Stream) (json.RawMessage, error) {
	fn, ok := d.ops.Lookup(op)
	if !ok {
		offers := "none"
		if names := d.ops.Names(); len(names) > 0 {
			offers = strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("%w: %q (this plugin offers: %s)", plugin.ErrUnknownOp, op, offers)
	}
	progress := func(p engine.Progress) { _ = s.Progress(ctx, progressOf(p)) }
	return fn(ctx, args, secrets, progress)
}

// observer adapts the engine's Observer to a plugin.Stream.
type observer struct {
	ctx context.Context
	s   plugin.Stream
	err error // first stream error, for the run's error message
	buf []plugin.Alert
}

func (o *observer) Progress(p engine.Progress) {
	if err := o.s.Progress(o.ctx, progressOf(p)); err != nil && o.err == nil {
		o.err = err
	}
}

func (o *observer) Alerts(ctx context.Context, batch []*correlation.Alert) error {
	o.buf = o.buf[:0]
	for _, a := range batch {
		doc, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alert %s: %w", a.Event.ID, err)
		}
		o.buf = append(o.buf, plugin.Alert{ID: a.Event.ID, Document: doc, Row: RowOf(a)})
	}
	if err := o.s.Alerts(ctx, o.buf); err != nil {
		if o.err == nil {
			o.err = err
		}
		return err
	}
	return nil
}

func progressOf(p engine.Progress) plugin.Progress {
	return plugin.Progress{Stage: p.Stage, Done: p.Done, Total: p.Total, Unit: p.Unit, Message: p.Message}
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
	}
	if a.Process != nil {
		r.InitiatingProcessFileName = a.Process.Name
	}
	return r
}
