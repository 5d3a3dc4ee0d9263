package dashboards

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// Unsupported reports whether a cluster's answer to an install request (a
// retention policy, a watch, a monitor, a notification channel) means the
// cluster lacks the feature rather than that the request was wrong, and
// says why in a sentence fit for `edgewatch install` output:
//
//   - 400/404/405 "no handler found for uri": the plugin or module that
//     serves the API is not installed (the integ-test distributions have no
//     ISM, ILM, Watcher, Alerting or Notifications);
//   - 403 with a license reason: the license does not cover the feature
//     (Watcher needs Standard, Gold+ or a trial; Basic is not enough).
//
// Install should report such a step as skipped with the reason and go on.
func Unsupported(status int, body []byte) (reason string, ok bool) {
	msg := errorText(body)
	low := strings.ToLower(msg)
	switch {
	case (status == http.StatusBadRequest || status == http.StatusNotFound || status == http.StatusMethodNotAllowed) &&
		strings.Contains(low, "no handler found for uri"):
		return "the cluster does not serve this API (plugin or module not installed): " + msg, true
	case status == http.StatusForbidden && strings.Contains(low, "license"):
		return "the cluster's license does not include this feature: " + msg, true
	}
	return "", false
}

// errorText extracts the reason of an error answer ({"error":"…"} or
// {"error":{"reason":"…"}}), or the raw body when it is not JSON.
func errorText(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return s
		}
		var o struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(e.Error, &o) == nil && o.Reason != "" {
			return o.Type + ": " + o.Reason
		}
	}
	t := string(bytes.TrimSpace(body))
	if len(t) > 300 {
		t = t[:300] + "…"
	}
	return t
}
