package serve

import (
	"net/http"

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
// state: two servers in one test process do not collide). The series that
// describe a detection's state now (lag, checkpoint, trigger age,
// backfills, degraded) come from stateCollector, computed at scrape time
// by the same code as /healthz.
type metrics struct {
	reg      *prometheus.Registry
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	events   *prometheus.CounterVec
	alerts   *prometheus.CounterVec
	errors   *prometheus.CounterVec
	webhook  *prometheus.CounterVec
	running  *prometheus.GaugeVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg:  prometheus.NewRegistry(),
		runs: counter("edgewatch_runs_total", "Detection runs and backfills by outcome (success, failed, noop, skipped).", "detection", "outcome"),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "edgewatch_run_duration_seconds", Help: "Wall time of a detection run or backfill (all its windows).",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"detection"}),
		events:  counter("edgewatch_events_scanned_total", "DeviceNetworkEvents rows read by runs.", "detection"),
		alerts:  counter("edgewatch_alerts_written_total", "Alert documents created (already-present ids are not counted).", "detection"),
		errors:  counter("edgewatch_errors_total", "Errors by kind (run, plugin_start, plugin_crash, config_reload, webhook_auth, feed).", "kind"),
		webhook: counter("edgewatch_webhook_requests_total", "Webhook trigger requests by HTTP status code.", "code"),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgewatch_run_in_progress", Help: "1 while an incremental run of the detection is in progress.",
		}, []string{"detection"}),
	}
	m.reg.MustRegister(m.runs, m.duration, m.events, m.alerts, m.errors, m.webhook, m.running,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every error kind is exported from the start (at 0), so that alert
	// rules on rate() see the series before the first error.
	for _, k := range []string{ErrKindRun, ErrKindPluginStart, ErrKindPluginCrash, ErrKindConfigReload, ErrKindWebhookAuth, ErrKindFeed} {
		m.errors.WithLabelValues(k)
	}
	return m
}

// counter is a counter vector with the given labels.
func counter(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// observe records a finished run or backfill.
func (m *metrics) observe(detection string, res RunResult, err error, seconds float64) {
	outcome := res.Status
	if outcome == "" {
		outcome = wire.StatusFailed
	}
	m.runs.WithLabelValues(detection, outcome).Inc()
	m.duration.WithLabelValues(detection).Observe(seconds)
	m.events.WithLabelValues(detection).Add(float64(res.EventsScanned))
	m.alerts.WithLabelValues(detection).Add(float64(res.AlertsCreated))
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

// stateCollector exports, at scrape time, what detectionHealthLocked
// computes for /healthz: the lag keeps growing, and alert rules fire, when
// runs stop succeeding or hang, and a removed detection's series go away.
type stateCollector struct {
	s                                                       *Server
	lag, checkpoint, triggerAge, backfills, remain, degrade *prometheus.Desc
}

func newStateCollector(s *Server) *stateCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"detection"}, nil)
	}
	return &stateCollector{s: s,
		lag:        d("edgewatch_lag_seconds", "Now minus the detection's checkpoint (the end of the last window fully processed); /healthz shows the same number."),
		checkpoint: d("edgewatch_checkpoint_timestamp_seconds", "The detection's checkpoint (Unix time)."),
		triggerAge: d("edgewatch_trigger_age_seconds", "Seconds since the external trigger (Watcher, Alerting) last called the webhook, for detections with trigger: external (since start-up before its first call)."),
		backfills:  d("edgewatch_backfills_in_progress", "Backfills and retro-hunts of the detection running now."),
		remain:     d("edgewatch_backfill_windows_remaining", "Windows the running backfills and retro-hunts of the detection have left."),
		degrade:    d("edgewatch_detection_degraded", "1 when /healthz reports the detection degraded (lag over max_lag, trigger silent, last run failed)."),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.lag, c.checkpoint, c.triggerAge, c.backfills, c.remain, c.degrade} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	gauge := func(d *prometheus.Desc, v float64, det string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, det)
	}
	for name, ds := range s.dets {
		h := s.detectionHealthLocked(ds, now)
		if h.LagSeconds != nil {
			gauge(c.lag, *h.LagSeconds, name)
			gauge(c.checkpoint, float64(h.Checkpoint.UnixMilli())/1000, name)
		}
		if h.TriggerAgeSeconds != nil {
			gauge(c.triggerAge, *h.TriggerAgeSeconds, name)
		}
		var running, left int64
		for _, b := range h.Backfills {
			if b.State == "running" {
				running++
				left += max(b.Total-b.Done, 0)
			}
		}
		gauge(c.backfills, float64(running), name)
		gauge(c.remain, float64(left), name)
		degraded := 0.0
		if len(h.Problems) > 0 {
			degraded = 1
		}
		gauge(c.degrade, degraded, name)
	}
}
