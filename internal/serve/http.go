package serve

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>", the
// GitHub-style webhook signature.
const SignatureHeader = "X-Edgewatch-Signature"

// maxBody bounds a webhook request body.
const maxBody = 1 << 20

// Handler is the server's HTTP API:
//
//	GET  /healthz                      ok / degraded (lag, silent trigger, failed run) per detection, backfills (JSON)
//	GET  /metrics                      Prometheus exposition (when enabled)
//	POST /v1/detections/{name}/run     trigger a run, or a backfill with {"from","to"} (202 + run id; 422 over
//	                                   max_backfill; auth required)
//	GET  /v1/runs/{id}                 a run's state, window progress and result (auth required)
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	mux.HandleFunc("POST /v1/detections/{name}/run", s.handleTrigger)
	mux.HandleFunc("GET /v1/runs/{id}", s.handleRun)
	return mux
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.Config().MetricsEnabled() {
		http.NotFound(w, r)
		return
	}
	s.metrics.handler().ServeHTTP(w, r)
}

// TriggerBody is the optional JSON body of a trigger. Other fields (what a
// Watcher or an Alerting monitor adds: source, watch_id, monitor_id,
// period_end…) are accepted and ignored; a body that is not a JSON object
// (an Alerting message in plain text) is a plain trigger.
type TriggerBody struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// TriggerResponse is the 202 answer. Backfill says the request had a
// window: it runs in the background, beside the scheduled runs; its
// progress is in StatusURL and /healthz.
type TriggerResponse struct {
	RunID     string `json:"run_id"`
	Detection string `json:"detection"`
	Coalesced bool   `json:"coalesced"`
	Backfill  bool   `json:"backfill,omitempty"`
	StatusURL string `json:"status_url"`
}

type apiError struct {
	Error string `json:"error"`
}

// backfillRefused is the 422 answer to a window over max_backfill: the
// message says how to split the request or raise the limit; the fields
// carry the numbers.
type backfillRefused struct {
	Error     string `json:"error"`
	Setting   string `json:"setting"`   // "max_backfill"
	Limit     string `json:"limit"`     // "7d"
	Requested string `json:"requested"` // "30d"
	Windows   int    `json:"windows"`   // windows the request would have run
}

func (s *Server) handleTrigger(w http.ResponseWriter, r *http.Request) {
	code := s.trigger0(w, r)
	s.metrics.webhook.WithLabelValues(strconv.Itoa(code)).Inc()
}

func (s *Server) trigger0(w http.ResponseWriter, r *http.Request) int {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return writeJSON(w, http.StatusRequestEntityTooLarge, apiError{"body larger than 1 MiB"})
		}
		return writeJSON(w, http.StatusBadRequest, apiError{"cannot read the body"})
	}
	if !s.authorized(r, body) {
		return s.unauthorized(w, r)
	}
	name := r.PathValue("name")
	win, err := parseWindow(body, s.now())
	if err != nil {
		return writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
	}
	id, coalesced, err := s.Trigger(name, win, "webhook")
	var tooLong *wire.BackfillTooLongError
	switch {
	case errors.As(err, &tooLong):
		return writeJSON(w, http.StatusUnprocessableEntity, backfillRefused{Error: err.Error(), Setting: "max_backfill",
			Limit: tooLong.Limit.Human(), Requested: wire.Duration(tooLong.Window.Duration()).Human(), Windows: tooLong.Windows()})
	case errors.Is(err, ErrUnknownDetection):
		return writeJSON(w, http.StatusNotFound, apiError{fmt.Sprintf("no detection %q is configured", name)})
	case errors.Is(err, ErrStopping):
		return writeJSON(w, http.StatusServiceUnavailable, apiError{"shutting down"})
	case err != nil:
		return writeJSON(w, http.StatusInternalServerError, apiError{err.Error()})
	}
	if win == nil {
		s.noteExternalTrigger(name)
	}
	s.log.Info("webhook trigger", "detection", name, "run_id", id, "coalesced", coalesced,
		"remote", r.RemoteAddr, "user_agent", r.UserAgent(), "window", windowAttr(win))
	return writeJSON(w, http.StatusAccepted, TriggerResponse{RunID: id, Detection: name, Coalesced: coalesced, Backfill: win != nil,
		StatusURL: "/v1/runs/" + id})
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r, nil) {
		s.unauthorized(w, r)
		return
	}
	v, ok := s.RunView(r.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{"no such run (or it is too old)"})
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request) int {
	s.metrics.errors.WithLabelValues(ErrKindWebhookAuth).Inc()
	s.log.Warn("webhook request refused: missing or wrong credentials", "remote", r.RemoteAddr, "path", r.URL.Path)
	w.Header().Set("WWW-Authenticate", `Bearer realm="edgewatch"`)
	return writeJSON(w, http.StatusUnauthorized, apiError{"unauthorized"})
}

// authorized checks the bearer token (constant-time) or the HMAC signature
// of body. With neither configured, every request is refused: the webhook
// is never open.
func (s *Server) authorized(r *http.Request, body []byte) bool {
	sec := s.Config().webhook
	if sec == nil {
		return false
	}
	if len(sec.token) > 0 {
		if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
			// Compare digests: equal lengths, so the comparison time says
			// nothing about the token's length either.
			got := sha256.Sum256([]byte(strings.TrimSpace(auth[7:])))
			want := sha256.Sum256(sec.token)
			if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
				return true
			}
		}
	}
	if len(sec.hmac) > 0 && body != nil {
		if sig, ok := strings.CutPrefix(r.Header.Get(SignatureHeader), "sha256="); ok {
			got, err := hex.DecodeString(strings.TrimSpace(sig))
			if err == nil {
				mac := hmac.New(sha256.New, sec.hmac)
				mac.Write(body)
				if hmac.Equal(got, mac.Sum(nil)) {
					return true
				}
			}
		}
	}
	return false
}

// Sign returns the X-Edgewatch-Signature value for body under key.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// parseWindow reads an explicit window from a trigger body. Empty bodies,
// bodies that are not JSON objects, and objects without from/to mean "run
// from the checkpoint". from without to runs up to now.
func parseWindow(body []byte, now time.Time) (*wire.Window, error) {
	trimmed := strings.TrimSpace(string(body))
	if !strings.HasPrefix(trimmed, "{") {
		return nil, nil
	}
	var tb TriggerBody
	if err := json.Unmarshal([]byte(trimmed), &tb); err != nil {
		// Not JSON after all (a templated text message): a plain trigger.
		return nil, nil
	}
	if tb.From == "" && tb.To == "" {
		return nil, nil
	}
	if tb.From == "" {
		return nil, errors.New(`"to" without "from": give both, or "from" alone (up to now)`)
	}
	from, err := time.Parse(time.RFC3339, tb.From)
	if err != nil {
		return nil, fmt.Errorf(`"from": want RFC 3339 (2026-03-01T00:00:00Z): %v`, err)
	}
	to := now.UTC().Truncate(time.Second)
	if tb.To != "" {
		if to, err = time.Parse(time.RFC3339, tb.To); err != nil {
			return nil, fmt.Errorf(`"to": want RFC 3339 (2026-03-02T00:00:00Z): %v`, err)
		}
	}
	if !from.Before(to) {
		return nil, fmt.Errorf(`"from" %s is not before "to" %s`, tb.From, to.Format(time.RFC3339))
	}
	w := wire.Window{From: from.UTC(), To: to.UTC()}
	return &w, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	return code
}
