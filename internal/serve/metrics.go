package serve

import (
	"net/http"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Error kinds counted in edgewatch_errors_total.
const (
	ErrKindRun          = "run"           // a run failed (window error, store error, lease lost)
	ErrKindPluginStart  = "plugin_start"  // the plugin could not be started
	ErrKindPluginCrash  = "plugin_crash"  // the plugin process exited during an operation
	ErrKindConfigReload = "config_reload" // SIGHUP with a bad configuration (the old one stays)
	ErrKindWebhookAuth  = "webhook_auth"  // a webhook call without valid credentials
	ErrKindFeed         = "feed"          // a feed refresh failed
)

// metrics are serve's Prometheus series, on their own registry (no global
// state: two servers in one test process do not collide).
type metrics struct {
	reg        *prometheus.Registry
	runs       *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	events     *prometheus.CounterVec
	alerts     *prometheus.CounterVec
	lag        *lagCollector
	checkpoint *prometheus.GaugeVec
	errors     *prometheus.CounterVec
	webhook    *prometheus.CounterVec
	running    *prometheus.GaugeVec
}

func newMetrics(now func() time.Time) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_runs_total", Help: "Detection runs by outcome (success, failed, noop, skipped).",
		}, []string{"detection", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "edgewatch_run_duration_seconds", Help: "Wall time of a detection run (all its windows).",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"detection"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_events_scanned_total", Help: "DeviceNetworkEvents rows read by runs.",
		}, []string{"detection"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_alerts_written_total", Help: "Alert documents created (already-present ids are not counted).",
		}, []string{"detection"}),
		lag: newLagCollector(now),
		checkpoint: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgewatch_checkpoint_timestamp_seconds", Help: "The detection's checkpoint (Unix time).",
		}, []string{"detection"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_errors_total", Help: "Errors by kind (run, plugin_start, plugin_crash, config_reload, webhook_auth, feed).",
		}, []string{"kind"}),
		webhook: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_webhook_requests_total", Help: "Webhook trigger requests by HTTP status code.",
		}, []string{"code"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgewatch_run_in_progress", Help: "1 while a run of the detection is in progress.",
		}, []string{"detection"}),
	}
	m.reg.MustRegister(m.runs, m.duration, m.events, m.alerts, m.lag, m.checkpoint, m.errors, m.webhook, m.running,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every error kind is exported from the start (at 0), so that alert
	// rules on rate() see the series before the first error.
	for _, k := range []string{ErrKindRun, ErrKindPluginStart, ErrKindPluginCrash, ErrKindConfigReload, ErrKindWebhookAuth, ErrKindFeed} {
		m.errors.WithLabelValues(k)
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// observe records a finished run.
func (m *metrics) observe(detection string, res RunResult, err error, seconds float64) {
	outcome := res.Status
	if outcome == "" {
		outcome = wire.StatusFailed
	}
	m.runs.WithLabelValues(detection, outcome).Inc()
	m.duration.WithLabelValues(detection).Observe(seconds)
	m.events.WithLabelValues(detection).Add(float64(res.EventsScanned))
	m.alerts.WithLabelValues(detection).Add(float64(res.AlertsCreated))
	if !res.CheckpointAfter.IsZero() {
		m.lag.set(detection, res.CheckpointAfter)
		m.checkpoint.WithLabelValues(detection).Set(float64(res.CheckpointAfter.UnixMilli()) / 1000)
	}
	if err != nil {
		m.errors.WithLabelValues(ErrKindRun).Inc()
	}
}

// declare exports a detection's series at zero before its first run.
func (m *metrics) declare(detection string) {
	m.events.WithLabelValues(detection)
	m.alerts.WithLabelValues(detection)
	m.running.WithLabelValues(detection)
}

// lagCollector exports edgewatch_lag_seconds computed at scrape time (now
// minus the last known checkpoint), so that the lag keeps growing, and
// alert rules fire, when runs stop succeeding or hang.
type lagCollector struct {
	desc *prometheus.Desc
	now  func() time.Time
	mu   sync.Mutex
	cps  map[string]time.Time
}

func newLagCollector(now func() time.Time) *lagCollector {
	return &lagCollector{
		desc: prometheus.NewDesc("edgewatch_lag_seconds", "Now minus the detection's checkpoint (the end of the last window fully processed).", []string{"detection"}, nil),
		now:  now, cps: map[string]time.Time{},
	}
}

func (c *lagCollector) set(detection string, cp time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cps[detection] = cp
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for d, cp := range c.cps {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, now.Sub(cp).Seconds(), d)
	}
}
