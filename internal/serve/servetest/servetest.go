package servetest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/internal/serve"
)

// Server is a serve instance as a test reaches it.
type Server struct {
	Client *http.Client // nil: http.DefaultClient
	Base   string       // http(s)://host:port
	Token  string       // the webhook's bearer token
	// Timeout bounds the wait for a run (0: one minute); Poll is the time
	// between two looks at its status (0: 50 ms).
	Timeout, Poll time.Duration
	// Log, when set, is printed with a failure (the server's stderr).
	Log func() string
}

// Run triggers detection through the webhook, as Watcher or Alerting do
// (source names the caller), and returns the run once it is done.
func (s Server) Run(t testing.TB, detection, source string) serve.RunView {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"source": source})
	var tr serve.TriggerResponse
	if code := s.call(t, http.MethodPost, "/v1/detections/"+detection+"/run", string(body), &tr); code != http.StatusAccepted {
		t.Fatalf("webhook for %s: HTTP %d\n%s", detection, code, s.log())
	}
	timeout, poll := s.Timeout, s.Poll
	if timeout <= 0 {
		timeout = time.Minute
	}
	if poll <= 0 {
		poll = 50 * time.Millisecond
	}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(poll) {
		var v serve.RunView
		s.call(t, http.MethodGet, tr.StatusURL, "", &v)
		if v.State == "done" {
			return v
		}
	}
	t.Fatalf("run %s of %s did not finish within %s\n%s", tr.RunID, detection, timeout, s.log())
	return serve.RunView{}
}

// call sends an authorised request and decodes the JSON answer into v,
// failing the test when the server cannot be reached or answers no JSON.
func (s Server) call(t testing.TB, method, path, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, s.Base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", method, path, err, s.log())
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s %s: HTTP %d, %v\n%s", method, path, resp.StatusCode, err, s.log())
	}
	return resp.StatusCode
}

func (s Server) log() string {
	if s.Log == nil {
		return ""
	}
	return s.Log()
}
