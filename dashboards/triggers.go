package dashboards

import (
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

//go:embed triggers/watcher.json
var watcherTmpl []byte

//go:embed triggers/alerting-channel.json
var channelTmpl []byte

//go:embed triggers/alerting-monitor.json
var monitorTmpl []byte

// DefaultTriggerInterval is the schedule of a trigger when TriggerParams
// leaves Interval at zero (issue 5: detections run every 5 minutes).
const DefaultTriggerInterval = 5 * time.Minute

// TriggerParams are the values a schedule trigger is rendered with. Token is a
// secret: String, GoString and LogValue redact it, and no error mentions it.
//
// The token ends up stored in the cluster: in the watch (.watches, in clear
// text unless Watcher's encrypt_sensitive_data is on) and in the
// Notifications channel config. Give the trigger a token of its own.
type TriggerParams struct {
	// URL is edgewatch serve's base URL as the cluster reaches it, e.g.
	// "https://edgewatch.soc.example:8443" (a base path is kept). Include a
	// port or path: OpenSearch Notifications refuses a bare non-FQDN host.
	URL string
	// Token is the webhook bearer token.
	Token string
	// Detection is the detection name in /v1/detections/{name}/run.
	Detection string
	// Interval is the schedule period; 0 means DefaultTriggerInterval.
	// OpenSearch Alerting needs whole minutes.
	Interval time.Duration
	// ChannelID is the Notifications channel config_id; "" means
	// "edgewatch-<detection>".
	ChannelID string
}

const redacted = "[redacted]"

// String renders the params without the token.
func (p TriggerParams) String() string {
	tok := ""
	if p.Token != "" {
		tok = redacted
	}
	return fmt.Sprintf("{URL:%s Detection:%s Interval:%s ChannelID:%s Token:%s}", redactURL(p.URL), p.Detection, p.Interval, p.ChannelID, tok)
}

// GoString renders the params for %#v without the token.
func (p TriggerParams) GoString() string { return "dashboards.TriggerParams" + p.String() }

// LogValue renders the params for log/slog without the token.
func (p TriggerParams) LogValue() slog.Value {
	tok := ""
	if p.Token != "" {
		tok = redacted
	}
	return slog.GroupValue(
		slog.String("url", redactURL(p.URL)),
		slog.String("detection", p.Detection),
		slog.Duration("interval", p.Interval),
		slog.String("channel_id", p.ChannelID),
		slog.String("token", tok),
	)
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

var (
	detectionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	// b64token is RFC 6750's bearer token syntax. Restricting the token to it
	// also keeps it out of reach of Mustache ({{ }}) and JSON escaping.
	b64token = regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*$`)
)

// ErrInvalidTrigger is wrapped by every validation error of TriggerParams.
var ErrInvalidTrigger = errors.New("invalid trigger parameters")

type endpoint struct {
	scheme, host, path string
	port               int
	base               string // scheme://host:port/path without trailing slash
}

func (p TriggerParams) validate() (endpoint, error) {
	var ep endpoint
	if !detectionName.MatchString(p.Detection) {
		return ep, fmt.Errorf("dashboards: %w: detection name %q must match %s", ErrInvalidTrigger, p.Detection, detectionName)
	}
	if p.ChannelID != "" && !detectionName.MatchString(p.ChannelID) {
		return ep, fmt.Errorf("dashboards: %w: channel id %q must match %s", ErrInvalidTrigger, p.ChannelID, detectionName)
	}
	if p.Token == "" {
		return ep, fmt.Errorf("dashboards: %w: a webhook token is required", ErrInvalidTrigger)
	}
	if len(p.Token) > 4096 || !b64token.MatchString(p.Token) {
		// Never quote the token.
		return ep, fmt.Errorf("dashboards: %w: the webhook token must be an RFC 6750 bearer token (letters, digits, -._~+/ and trailing =)", ErrInvalidTrigger)
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return ep, fmt.Errorf("dashboards: %w: edgewatch URL does not parse", ErrInvalidTrigger)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return ep, fmt.Errorf("dashboards: %w: edgewatch URL %s: scheme must be http or https", ErrInvalidTrigger, u.Redacted())
	}
	if u.User != nil {
		return ep, fmt.Errorf("dashboards: %w: edgewatch URL %s: credentials in the URL are not allowed, use the token", ErrInvalidTrigger, u.Redacted())
	}
	if u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Path, "{{") {
		return ep, fmt.Errorf("dashboards: %w: edgewatch URL %s: want scheme://host[:port][/base-path] without query or fragment", ErrInvalidTrigger, u.Redacted())
	}
	ep.scheme = u.Scheme
	ep.host = u.Hostname()
	ep.port = 80
	if u.Scheme == "https" {
		ep.port = 443
	}
	if ps := u.Port(); ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > 65535 {
			return ep, fmt.Errorf("dashboards: %w: edgewatch URL %s: bad port", ErrInvalidTrigger, u.Redacted())
		}
		ep.port = n
	}
	ep.path = strings.TrimRight(u.EscapedPath(), "/")
	ep.base = u.Scheme + "://" + u.Host + ep.path
	return ep, nil
}

func (p TriggerParams) interval() (time.Duration, error) {
	iv := p.Interval
	if iv == 0 {
		iv = DefaultTriggerInterval
	}
	if iv < time.Second || iv%time.Second != 0 {
		return 0, fmt.Errorf("dashboards: %w: interval %s must be whole seconds and at least 1s", ErrInvalidTrigger, iv)
	}
	return iv, nil
}

func (p TriggerParams) channelID() string {
	if p.ChannelID != "" {
		return p.ChannelID
	}
	return "edgewatch-" + p.Detection
}

// WatchID is the Watcher watch id for a detection (PUT _watcher/watch/<id>).
func WatchID(detection string) string { return "edgewatch-" + detection }

// MonitorName is the OpenSearch Alerting monitor name for a detection.
// Monitors get server-generated ids; find an installed one by this name with
// POST _plugins/_alerting/monitors/_search.
func MonitorName(detection string) string { return "edgewatch-" + detection }

// WatcherDefinition renders the Elastic Watcher watch that POSTs to
// <URL>/v1/detections/<Detection>/run every Interval, with the bearer token and
// the JSON body {"source":"watcher","watch_id":…,"scheduled_time":…}. Install it
// with PUT _watcher/watch/WatchID(Detection); Watcher needs a Standard, Gold+
// or trial license (not Basic).
func WatcherDefinition(p TriggerParams) ([]byte, error) {
	ep, err := p.validate()
	if err != nil {
		return nil, err
	}
	iv, err := p.interval()
	if err != nil {
		return nil, err
	}
	ivText := strconv.FormatInt(int64(iv/time.Second), 10) + "s"
	if iv%time.Minute == 0 {
		ivText = strconv.FormatInt(int64(iv/time.Minute), 10) + "m"
	}
	return fill("triggers/watcher.json", watcherTmpl, map[string]any{
		"name":             p.Detection,
		"interval":         ivText,
		"edgewatch_scheme": ep.scheme,
		"edgewatch_host":   ep.host,
		"edgewatch_port":   ep.port,
		"edgewatch_path":   ep.path,
		"token":            p.Token,
	})
}

// NotificationChannel renders the OpenSearch Notifications webhook channel
// (POST _plugins/_notifications/configs) that the Alerting monitor sends to:
// POST <URL>/v1/detections/<Detection>/run with the bearer token.
func NotificationChannel(p TriggerParams) ([]byte, error) {
	ep, err := p.validate()
	if err != nil {
		return nil, err
	}
	return fill("triggers/alerting-channel.json", channelTmpl, map[string]any{
		"channel_id":    p.channelID(),
		"name":          p.Detection,
		"edgewatch_url": ep.base,
		"token":         p.Token,
	})
}

// AlertingMonitor renders the OpenSearch Alerting query-level monitor
// (POST _plugins/_alerting/monitors) that fires every Interval and sends its
// message to the NotificationChannel. Its input is a trivial size-0 query on
// the state index and its trigger condition is the Painless script
// "return true": Alerting's trigger conditions are always Painless, so the
// cluster needs the lang-painless module (which Alerting requires anyway; the
// integ-test distribution has neither).
func AlertingMonitor(p TriggerParams) ([]byte, error) {
	if _, err := p.validate(); err != nil {
		return nil, err
	}
	iv, err := p.interval()
	if err != nil {
		return nil, err
	}
	if iv%time.Minute != 0 {
		return nil, fmt.Errorf("dashboards: %w: OpenSearch Alerting schedules in whole minutes, got %s", ErrInvalidTrigger, iv)
	}
	return fill("triggers/alerting-monitor.json", monitorTmpl, map[string]any{
		"monitor_name":     MonitorName(p.Detection),
		"name":             p.Detection,
		"interval_minutes": int(iv / time.Minute),
		"channel_id":       p.channelID(),
	})
}
