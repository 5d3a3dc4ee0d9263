package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"go.yaml.in/yaml/v3"
)

// Defaults for Config fields left empty.
const (
	DefaultListen          = ":8080"
	DefaultInterval        = 5 * time.Minute
	DefaultShutdownTimeout = 30 * time.Second
	DefaultFeedEvery       = time.Hour
)

// ErrConfig marks an unusable serve configuration.
var ErrConfig = errors.New("invalid serve configuration")

// Config is the serve configuration file (YAML). Secrets are never in it:
// it names environment variables or files that hold them.
type Config struct {
	// Listen is the HTTP address (default ":8080"); --listen overrides it.
	Listen string `yaml:"listen"`
	// TLS serves HTTPS when a certificate is configured.
	TLS TLSConfig `yaml:"tls"`
	// Webhook configures authentication of POST /v1/detections/{name}/run.
	Webhook WebhookConfig `yaml:"webhook"`
	// Metrics exposes GET /metrics (default true).
	Metrics *bool `yaml:"metrics"`
	// Log selects the log format ("text" or "json") and level.
	Log LogConfig `yaml:"log"`
	// Plugin selects the detector plugin.
	Plugin PluginConfig `yaml:"plugin"`
	// ShutdownTimeout bounds the wait for runs to stop on SIGTERM (30s).
	ShutdownTimeout wire.Duration `yaml:"shutdown_timeout"`
	// Defaults apply to every detection that leaves a field empty.
	Defaults DetectionDefaults `yaml:"defaults"`
	// Detections are the detections this instance runs.
	Detections []Detection `yaml:"detections"`
	// Feeds are indicator feed files reloaded on a schedule.
	Feeds []Feed `yaml:"feeds"`

	// path is the file the config was read from (for reloads).
	path string
	// webhook holds the resolved webhook secrets; a pointer so that
	// printing a Config never prints them.
	webhook *webhookSecrets
}

// TLSConfig names a certificate and key (PEM files).
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" }

// WebhookConfig says where the webhook's secrets are: a bearer token and/or
// an HMAC-SHA256 key, each from an environment variable or a file. A
// webhook without any is disabled (it answers 401 to everything).
type WebhookConfig struct {
	TokenEnv       string `yaml:"token_env"`
	TokenFile      string `yaml:"token_file"`
	HMACSecretEnv  string `yaml:"hmac_secret_env"`
	HMACSecretFile string `yaml:"hmac_secret_file"`
}

type webhookSecrets struct {
	token []byte
	hmac  []byte
}

// LogConfig selects the log output.
type LogConfig struct {
	Format string `yaml:"format"` // "text" (default) or "json"
	Level  string `yaml:"level"`  // "debug", "info" (default), "warn", "error"
}

// PluginConfig selects the detector plugin executable.
type PluginConfig struct {
	// Name is the plugin (default edgewatch-defender-ti), or a path.
	Name string `yaml:"name"`
	// Dirs are searched before the directory of the edgewatch executable.
	Dirs []string `yaml:"dirs"`
	// SHA256 is the expected checksum of the plugin binary (hex).
	SHA256 string `yaml:"sha256"`
}

// DetectionDefaults are defaults for every detection.
type DetectionDefaults struct {
	Interval    wire.Duration `yaml:"interval"`
	MaxLag      wire.Duration `yaml:"max_lag"`
	wire.Config `yaml:",inline"`
}

// What starts a detection's runs (Detection.Trigger).
const (
	// TriggerSchedule: serve runs the detection every Interval (default).
	TriggerSchedule = "schedule"
	// TriggerExternal: an Elastic Watcher watch or an OpenSearch Alerting
	// monitor calls the webhook every Interval; serve schedules nothing,
	// tracks the time since the last call and reports the detection
	// degraded past 2 × Interval (an acknowledged watch or monitor stops
	// calling without a word).
	TriggerExternal = "external"
	// TriggerManual: only explicit webhook calls; nothing is expected.
	TriggerManual = "manual"
)

// Detection is one scheduled detection.
type Detection struct {
	// Name identifies the detection in URLs, metrics, state document ids
	// and trigger ids: 1 to 64 of [a-z0-9_-], starting with a letter or
	// digit (wire.ValidateDetectionName).
	Name string `yaml:"name"`
	// Interval between scheduled runs (default 5m); with trigger: external,
	// the interval the external trigger calls at (what `edgewatch install
	// --triggers --trigger-interval` gave it; its default is also 5m).
	Interval wire.Duration `yaml:"interval"`
	// Trigger is TriggerSchedule (default), TriggerExternal or
	// TriggerManual.
	Trigger string `yaml:"trigger"`
	// Manual is the older spelling of trigger: manual. After loading it is
	// true whenever serve does not schedule the detection itself.
	Manual bool `yaml:"manual"`
	// MaxLag is the lag (now − checkpoint) past which /healthz reports the
	// detection degraded; default 3 × interval + delay, none for a manual
	// detection.
	MaxLag wire.Duration `yaml:"max_lag"`
	// Incremental tunes windows, overlap, delay, lease and backfills
	// (inline keys: overlap, delay, max_window, initial_lookback,
	// lease_ttl, max_windows, retro_lookback, retro_max_window,
	// max_backfill).
	Incremental wire.Config `yaml:",inline"`
	// Settings are the plugin's run settings (wire.Settings: source,
	// cluster, feeds…), read strictly: an unknown key is a config error.
	Settings map[string]any `yaml:"settings"`
	// Secrets maps a plugin secret name ("password", "api_key") to where
	// its value is: {env: VAR} or {file: PATH}.
	Secrets map[string]SecretRef `yaml:"secrets"`

	settingsJSON json.RawMessage
	settings     wire.Settings
	secrets      *detectionSecrets
}

type detectionSecrets struct{ values map[string]string }

// SecretRef names an environment variable or a file holding a secret.
type SecretRef struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`
}

// Feed is an indicator feed file that serve reloads on a schedule (the
// file may be replaced by an external download job). A load that adds
// indicators triggers a retro-hunt of the listed detections.
type Feed struct {
	// Name is the feed name (the lookup index edgewatch-indicators-<name>).
	Name string `yaml:"name"`
	// Path is the feed file (IPsum ipsum.txt, levels/N.txt, or an IP list).
	Path string `yaml:"path"`
	// Every is the check interval (default 1h); an unchanged file (same
	// size and modification time) is not reloaded.
	Every wire.Duration `yaml:"every"`
	// MinLevel keeps only indicators of at least this IPsum level.
	MinLevel int `yaml:"min_level"`
	// Detections are retro-hunted with the added indicators; the first one's
	// settings and secrets also say which cluster the feed is loaded into.
	Detections []string `yaml:"detections"`
	// RetroHunt turns the retro-hunt on (default true).
	RetroHunt *bool `yaml:"retro_hunt"`
}

// Path is the file the configuration was loaded from.
func (c *Config) Path() string { return c.path }

// MetricsEnabled reports whether /metrics is served.
func (c *Config) MetricsEnabled() bool { return c.Metrics == nil || *c.Metrics }

// Detection returns the detection called name.
func (c *Config) Detection(name string) (Detection, bool) {
	for _, d := range c.Detections {
		if d.Name == name {
			return d, true
		}
	}
	return Detection{}, false
}

// SettingsJSON is the detection's settings as JSON, as configured.
func (d Detection) SettingsJSON() json.RawMessage { return d.settingsJSON }

// RunSettings is the detection's settings as the plugin runs them.
func (d Detection) RunSettings() wire.Settings { return d.settings }

// SecretValues are the detection's resolved secrets (never log them).
func (d Detection) SecretValues() map[string]string {
	if d.secrets == nil {
		return nil
	}
	return d.secrets.values
}

// EffectiveInterval is the interval with the default applied.
func (d Detection) EffectiveInterval() time.Duration {
	if d.Interval > 0 {
		return d.Interval.D()
	}
	return DefaultInterval
}

// EffectiveMaxLag is the lag past which the detection is degraded (0: not
// checked).
func (d Detection) EffectiveMaxLag() time.Duration {
	switch {
	case d.MaxLag > 0:
		return d.MaxLag.D()
	case d.Trigger == TriggerManual:
		return 0
	}
	return 3*d.EffectiveInterval() + d.Incremental.WithDefaults().Delay.D()
}

// ExpectedTriggerEvery is how often an external trigger should call (0 when
// the detection expects none).
func (d Detection) ExpectedTriggerEvery() time.Duration {
	if d.Trigger == TriggerExternal {
		return d.EffectiveInterval()
	}
	return 0
}

// LoadConfig reads, resolves and validates the configuration file at path.
// getenv is os.Getenv (tests pass their own).
func LoadConfig(path string, getenv func(string) string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	cfg, err := ParseConfig(b, getenv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg.path = path
	return cfg, nil
}

// ParseConfig parses, resolves (defaults, secrets) and validates a YAML
// configuration. Unknown keys are errors: a typo must not silently drop a
// setting.
func ParseConfig(b []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := cfg.resolve(getenv); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Config) resolve(getenv func(string) string) error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return fmt.Errorf("%w: tls needs both cert_file and key_file", ErrConfig)
	}
	for _, p := range []*string{&c.TLS.CertFile, &c.TLS.KeyFile} {
		var err error
		if *p, err = credentialPath(*p, getenv); err != nil {
			return fmt.Errorf("%w: tls: %w", ErrConfig, err)
		}
	}
	switch strings.ToLower(c.Log.Format) {
	case "", "text", "json":
	default:
		return fmt.Errorf("%w: log.format %q: want text or json", ErrConfig, c.Log.Format)
	}
	if _, err := ParseLevel(c.Log.Level); err != nil {
		return err
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("%w: shutdown_timeout is negative", ErrConfig)
	}

	ws := &webhookSecrets{}
	var err error
	if ws.token, err = secret("webhook token", SecretRef{Env: c.Webhook.TokenEnv, File: c.Webhook.TokenFile}, getenv); err != nil {
		return err
	}
	if ws.hmac, err = secret("webhook hmac secret", SecretRef{Env: c.Webhook.HMACSecretEnv, File: c.Webhook.HMACSecretFile}, getenv); err != nil {
		return err
	}
	if (c.Webhook.TokenEnv != "" || c.Webhook.TokenFile != "") && len(ws.token) < 16 {
		return fmt.Errorf("%w: the webhook token is shorter than 16 bytes", ErrConfig)
	}
	if (c.Webhook.HMACSecretEnv != "" || c.Webhook.HMACSecretFile != "") && len(ws.hmac) < 16 {
		return fmt.Errorf("%w: the webhook hmac secret is shorter than 16 bytes", ErrConfig)
	}
	c.webhook = ws

	if len(c.Detections) == 0 {
		return fmt.Errorf("%w: no detections configured", ErrConfig)
	}
	seen := map[string]bool{}
	for i := range c.Detections {
		d := &c.Detections[i]
		if err := wire.ValidateDetectionName(d.Name); err != nil {
			return fmt.Errorf("%w: detections[%d]: %w", ErrConfig, i, err)
		}
		if seen[d.Name] {
			return fmt.Errorf("%w: detection %q is configured twice", ErrConfig, d.Name)
		}
		seen[d.Name] = true
		if d.Interval == 0 {
			d.Interval = c.Defaults.Interval
		}
		if d.Interval < 0 || (d.Interval > 0 && d.Interval.D() < time.Second) {
			return fmt.Errorf("%w: detection %s: interval %s is under 1s", ErrConfig, d.Name, d.Interval)
		}
		switch d.Trigger {
		case "":
			d.Trigger = TriggerSchedule
			if d.Manual {
				d.Trigger = TriggerManual
			}
		case TriggerSchedule, TriggerExternal, TriggerManual:
			if d.Manual && d.Trigger != TriggerManual {
				return fmt.Errorf("%w: detection %s: manual: true contradicts trigger: %s (manual: true is trigger: manual)", ErrConfig, d.Name, d.Trigger)
			}
		default:
			return fmt.Errorf("%w: detection %s: trigger %q: want %s, %s or %s", ErrConfig, d.Name, d.Trigger, TriggerSchedule, TriggerExternal, TriggerManual)
		}
		d.Manual = d.Trigger != TriggerSchedule
		if d.MaxLag == 0 {
			d.MaxLag = c.Defaults.MaxLag
		}
		if d.MaxLag < 0 {
			return fmt.Errorf("%w: detection %s: max_lag %s is negative", ErrConfig, d.Name, d.MaxLag)
		}
		d.Incremental = d.Incremental.Merge(c.Defaults.Config)
		if err := d.Incremental.Validate(); err != nil {
			return fmt.Errorf("%w: detection %s: %w", ErrConfig, d.Name, err)
		}
		if d.Settings == nil {
			d.Settings = map[string]any{}
		}
		sj, err := json.Marshal(d.Settings)
		if err != nil {
			return fmt.Errorf("%w: detection %s: settings: %w", ErrConfig, d.Name, err)
		}
		d.settingsJSON = sj
		if d.settings, err = wire.DecodeSettings(sj); err != nil {
			return fmt.Errorf("%w: detection %s: %w", ErrConfig, d.Name, err)
		}
		vals := map[string]string{}
		for k, ref := range d.Secrets {
			v, err := secret(fmt.Sprintf("detection %s secret %s", d.Name, k), ref, getenv)
			if err != nil {
				return err
			}
			if v == nil {
				return fmt.Errorf("%w: detection %s secret %s: give env or file", ErrConfig, d.Name, k)
			}
			vals[k] = string(v)
		}
		d.secrets = &detectionSecrets{values: vals}
	}
	for i := range c.Feeds {
		f := &c.Feeds[i]
		if f.Path == "" {
			return fmt.Errorf("%w: feeds[%d]: path is required", ErrConfig, i)
		}
		if f.Every == 0 {
			f.Every = wire.Duration(DefaultFeedEvery)
		}
		if f.Every.D() < time.Second {
			return fmt.Errorf("%w: feeds[%d]: every %s is under 1s", ErrConfig, i, f.Every)
		}
		if len(f.Detections) == 0 {
			return fmt.Errorf("%w: feeds[%d]: name at least one detection (its settings say where the feed is loaded)", ErrConfig, i)
		}
		for _, n := range f.Detections {
			if !seen[n] {
				return fmt.Errorf("%w: feeds[%d]: unknown detection %q", ErrConfig, i, n)
			}
		}
	}
	return nil
}

// secret reads a secret from an env var or a file (trailing newline
// trimmed; $CREDENTIALS_DIRECTORY in the path names a systemd credential). Errors name the variable or file, never the value. Nil means
// not configured.
func secret(what string, ref SecretRef, getenv func(string) string) ([]byte, error) {
	switch {
	case ref.Env != "" && ref.File != "":
		return nil, fmt.Errorf("%w: %s: give env or file, not both", ErrConfig, what)
	case ref.Env != "":
		v := getenv(ref.Env)
		if v == "" {
			return nil, fmt.Errorf("%w: %s: environment variable %s is empty or unset", ErrConfig, what, ref.Env)
		}
		return []byte(v), nil
	case ref.File != "":
		path, err := credentialPath(ref.File, getenv)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrConfig, what, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrConfig, what, err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, fmt.Errorf("%w: %s: file %s is empty", ErrConfig, what, path)
		}
		return b, nil
	}
	return nil, nil
}

// ParseLevel reads a log level name ("" is info; plugin.ParseLogLevel).
func ParseLevel(s string) (slog.Level, error) {
	level, ok := plugin.ParseLogLevel(s)
	if !ok {
		return 0, fmt.Errorf("%w: log level %q: want debug, info, warn or error", ErrConfig, s)
	}
	return level, nil
}

// NewLogger builds the logger the configuration asks for.
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	level, _ := ParseLevel(c.Log.Level)
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(c.Log.Format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
