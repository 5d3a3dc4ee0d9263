package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config holds the connection settings shared by the OpenSearch and
// Elasticsearch connectors. Secrets (Password, APIKey) never leave it in
// text form: String, GoString, LogValue and JSON encoding redact them.
type Config struct {
	// URLs of the cluster's HTTP endpoints ("https://es1:9200"). Userinfo in
	// a URL ("https://user:pass@host") is moved to Username/Password by
	// Normalize.
	URLs     []string `json:"urls"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"-"`
	// APIKey is the base64 "id:key" credential (Elasticsearch API keys);
	// it takes precedence over Username/Password.
	APIKey string `json:"-"`
	// CAFile is a PEM bundle of the authorities to trust for https URLs.
	CAFile string `json:"ca_file,omitempty"`
	// InsecureSkipVerify disables TLS certificate checks. Off by default;
	// for test clusters with self-signed certificates only.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
	// Timeout bounds each request (including the client's own retries).
	// 0 means DefaultTimeout.
	Timeout time.Duration `json:"timeout,omitempty"`
	// MaxRetries is how often the official client retries a request
	// answered 429/502/503/504 or failed by the network. 0 means 3; a
	// negative value disables the client's retries.
	MaxRetries int `json:"max_retries,omitempty"`
	// Compression asks the cluster to gzip its answers (Accept-Encoding:
	// gzip). Off by default: on loopback and LAN links the cluster spends
	// more time compressing than the transfer saves (OpenSearch 2.19, a
	// 4.5 MB page of 5,000 DeviceInfo rows: 0.19 s gzipped, 0.10 s plain,
	// medians on loopback). Worth turning on over slow or metered links.
	Compression bool `json:"compression,omitempty"`
}

// DefaultTimeout bounds one request when Config.Timeout is 0.
const DefaultTimeout = 60 * time.Second

// RetryStatuses are the statuses the official clients are told to retry.
var RetryStatuses = []int{429, 502, 503, 504}

// String renders the settings with secrets redacted.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("urls=[")
	for i, u := range c.URLs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(redactURL(u))
	}
	b.WriteString("]")
	if c.Username != "" {
		b.WriteString(" username=" + c.Username)
	}
	if c.Password != "" {
		b.WriteString(" password=" + redacted)
	}
	if c.APIKey != "" {
		b.WriteString(" api_key=" + redacted)
	}
	if c.CAFile != "" {
		b.WriteString(" ca_file=" + c.CAFile)
	}
	if c.InsecureSkipVerify {
		b.WriteString(" insecure_skip_verify=true")
	}
	if c.Timeout != 0 {
		b.WriteString(" timeout=" + c.Timeout.String())
	}
	if c.Compression {
		b.WriteString(" compression=true")
	}
	return b.String()
}

// GoString makes %#v redact too.
func (c Config) GoString() string { return "cluster.Config{" + c.String() + "}" }

// MarshalJSON writes the settings without secrets (Password and APIKey are
// never written; URL userinfo passwords are redacted).
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config
	p := plain(c)
	p.URLs = make([]string, len(c.URLs))
	for i, u := range c.URLs {
		p.URLs[i] = redactURL(u)
	}
	return json.Marshal(p)
}

// LogValue makes slog print the redacted form.
func (c Config) LogValue() slog.Value {
	urls := make([]string, len(c.URLs))
	for i, u := range c.URLs {
		urls[i] = redactURL(u)
	}
	attrs := []slog.Attr{slog.Any("urls", urls)}
	if c.Username != "" {
		attrs = append(attrs, slog.String("username", c.Username))
	}
	if c.Password != "" {
		attrs = append(attrs, slog.String("password", redacted))
	}
	if c.APIKey != "" {
		attrs = append(attrs, slog.String("api_key", redacted))
	}
	if c.CAFile != "" {
		attrs = append(attrs, slog.String("ca_file", c.CAFile))
	}
	if c.InsecureSkipVerify {
		attrs = append(attrs, slog.Bool("insecure_skip_verify", true))
	}
	return slog.GroupValue(attrs...)
}

// Secrets lists the secret values, for scrubbing error messages.
func (c Config) Secrets() []string {
	var s []string
	if c.Password != "" {
		s = append(s, c.Password)
	}
	if c.APIKey != "" {
		s = append(s, c.APIKey)
	}
	return s
}

// EffectiveTimeout is Timeout or DefaultTimeout.
func (c Config) EffectiveTimeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// Normalize validates the settings and returns a copy whose URLs carry no
// userinfo (credentials found there move to Username/Password unless those
// are set). Errors match ErrConfig and never quote a secret.
func (c Config) Normalize() (Config, error) {
	if len(c.URLs) == 0 {
		return c, ConfigErrorf("no cluster URL")
	}
	out := c
	out.URLs = make([]string, 0, len(c.URLs))
	for _, raw := range c.URLs {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			return c, ConfigErrorf("bad cluster URL %q", redactURL(raw))
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return c, ConfigErrorf("cluster URL %q: scheme must be http or https", redactURL(raw))
		}
		if u.Host == "" {
			return c, ConfigErrorf("cluster URL %q has no host", redactURL(raw))
		}
		if u.User != nil {
			if out.Username == "" && out.Password == "" && out.APIKey == "" {
				out.Username = u.User.Username()
				out.Password, _ = u.User.Password()
			}
			u.User = nil
		}
		out.URLs = append(out.URLs, strings.TrimRight(u.String(), "/"))
	}
	if len(out.URLs) == 0 {
		return c, ConfigErrorf("no cluster URL")
	}
	if out.Password != "" && out.Username == "" {
		return c, ConfigErrorf("password given without username")
	}
	if out.CAFile != "" {
		if _, err := os.Stat(out.CAFile); err != nil {
			return c, ConfigErrorf("CA file: %v", err)
		}
	}
	return out, nil
}

// HTTPTransport builds the http.Transport both connectors hand to their
// official client: TLS from CAFile/InsecureSkipVerify, dial and header
// timeouts, keep-alive pooling sized for bulk writers, and no gzip answers
// unless Compression is set (Go's transport would otherwise ask for them).
func (c Config) HTTPTransport() (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = !c.Compression
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConnsPerHost = 16
	t.ResponseHeaderTimeout = c.EffectiveTimeout()
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, ConfigErrorf("CA file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, ConfigErrorf("CA file %s holds no PEM certificate", c.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	if c.InsecureSkipVerify {
		tlsConf.InsecureSkipVerify = true // #nosec G402 -- explicit opt-in for test clusters
	}
	t.TLSClientConfig = tlsConf
	return t, nil
}

// RetryBackoff is the wait before the client's attempt n (1-based):
// 200ms, 400ms, 800ms … capped at 5s.
func RetryBackoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := 200 * time.Millisecond << min(attempt-1, 5)
	return min(d, 5*time.Second)
}

// EffectiveMaxRetries maps MaxRetries to the client's setting: (retries,
// disable).
func (c Config) EffectiveMaxRetries() (int, bool) {
	switch {
	case c.MaxRetries < 0:
		return 0, true
	case c.MaxRetries == 0:
		return 3, false
	}
	return c.MaxRetries, false
}

// SecretFromEnvOrFile returns the secret in the environment variable name, or
// else the content (first line, trimmed) of the file named by name+"_FILE".
// Neither set is not an error: it returns "". The error never holds the
// secret.
func SecretFromEnvOrFile(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	path := os.Getenv(name + "_FILE")
	if path == "" {
		return "", nil
	}
	return SecretFromFile(path)
}

// SecretFromFile reads a secret from the first line of a file.
func SecretFromFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", ConfigErrorf("secret file: %v", errors.Unwrap(err))
	}
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ConfigErrorf("secret file %s is empty", path)
	}
	return s, nil
}

// ConfigFromEnv reads a Config from environment variables with the given
// prefix (e.g. "EDGEWATCH_ELASTICSEARCH"): PREFIX_URL (comma-separated),
// PREFIX_USERNAME, PREFIX_PASSWORD or PREFIX_PASSWORD_FILE, PREFIX_API_KEY or
// PREFIX_API_KEY_FILE, PREFIX_CA_FILE, PREFIX_INSECURE_SKIP_VERIFY (true/1),
// PREFIX_TIMEOUT (Go duration), PREFIX_COMPRESSION (true/1). ok is false
// when PREFIX_URL is unset.
func ConfigFromEnv(prefix string) (cfg Config, ok bool, err error) {
	raw := os.Getenv(prefix + "_URL")
	if raw == "" {
		return Config{}, false, nil
	}
	for _, u := range strings.Split(raw, ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.URLs = append(cfg.URLs, u)
		}
	}
	cfg.Username = os.Getenv(prefix + "_USERNAME")
	if cfg.Password, err = SecretFromEnvOrFile(prefix + "_PASSWORD"); err != nil {
		return cfg, true, fmt.Errorf("%s_PASSWORD: %w", prefix, err)
	}
	if cfg.APIKey, err = SecretFromEnvOrFile(prefix + "_API_KEY"); err != nil {
		return cfg, true, fmt.Errorf("%s_API_KEY: %w", prefix, err)
	}
	cfg.CAFile = os.Getenv(prefix + "_CA_FILE")
	if v := os.Getenv(prefix + "_INSECURE_SKIP_VERIFY"); v != "" {
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return cfg, true, ConfigErrorf("%s_INSECURE_SKIP_VERIFY: want true or false", prefix)
		}
		cfg.InsecureSkipVerify = b
	}
	if v := os.Getenv(prefix + "_COMPRESSION"); v != "" {
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return cfg, true, ConfigErrorf("%s_COMPRESSION: want true or false", prefix)
		}
		cfg.Compression = b
	}
	if v := os.Getenv(prefix + "_TIMEOUT"); v != "" {
		d, perr := time.ParseDuration(v)
		if perr != nil {
			return cfg, true, ConfigErrorf("%s_TIMEOUT: %v", prefix, perr)
		}
		cfg.Timeout = d
	}
	return cfg, true, nil
}

// redactURL hides the password of a URL's userinfo.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return redactUserinfo(raw)
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return strings.Replace(u.String(), ":xxxxx@", ":"+redacted+"@", 1)
		}
	}
	return u.String()
}
