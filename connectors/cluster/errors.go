package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// Sentinel errors. Every *Error matches the one its status implies through
// errors.Is, so callers never compare status codes.
var (
	// ErrConflict: the document exists (op_type=create) or its
	// if_seq_no/if_primary_term did not match (HTTP 409).
	ErrConflict = errors.New("version conflict")
	// ErrNotFound: the index, alias or document does not exist (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the cluster refused the credentials or the user lacks
	// a privilege (HTTP 401/403).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrWrongFlavor: the connector points at the other store (an
	// OpenSearch connector at Elasticsearch or the reverse).
	ErrWrongFlavor = errors.New("wrong cluster flavor")
	// ErrConfig: edgewatch's own connection settings are unusable.
	ErrConfig = errors.New("bad cluster configuration")
)

// Error is one failed cluster call. It tells who is at fault (Downstream:
// the cluster said no or could not be reached; otherwise our request or
// configuration was wrong) and whether trying again can help. Its message
// names the operation, the status and the store's error type and reason; it
// never carries credentials, headers or request bodies.
type Error struct {
	Op         string // what edgewatch was doing: "bulk", "put index template edgewatch-alerts"
	Method     string // HTTP method
	Path       string // request path without query (paths never hold secrets)
	Status     int    // HTTP status; 0 when no answer arrived
	Type       string // the store's error type, e.g. "index_not_found_exception"
	Reason     string // the store's reason (root cause first when it differs)
	Downstream bool   // true: the cluster (or the network to it); false: ours
	Retryable  bool   // true: the same request may succeed later
	Err        error  // the transport error, when there was no answer
}

// Error renders "op: METHOD /path: 404 index_not_found_exception: no such
// index [x]" or "op: METHOD /path: connection refused".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Method != "" || e.Path != "" {
		b.WriteString(strings.TrimSpace(e.Method + " " + truncate(e.Path, maxPathInMessage)))
		b.WriteString(": ")
	}
	switch {
	case e.Status != 0:
		b.WriteString(strconv.Itoa(e.Status))
		if e.Type != "" {
			b.WriteString(" " + e.Type)
		}
		if e.Reason != "" {
			b.WriteString(": " + e.Reason)
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString(e.Reason)
	}
	return b.String()
}

// maxPathInMessage bounds the request path an error message shows (a
// field-mapping path lists every field).
const maxPathInMessage = 120

// Unwrap returns the transport error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel errors by status.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrConflict:
		return e.Status == 409
	case ErrNotFound:
		return e.Status == 404
	case ErrUnauthorized:
		return e.Status == 401 || e.Status == 403
	case ErrConfig:
		return !e.Downstream && e.Status == 0 && e.Err == nil
	}
	return false
}

// RetryableStatus reports whether a status is worth retrying: 429 (too many
// requests: the cluster is pushing back) and the 5xx family that means "not
// now" (500 is included because bulk items report transient shard failures
// with it; 501 and 505 are not).
func RetryableStatus(status int) bool {
	switch status {
	case 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// StatusError builds the *Error for an answer with an error status. The
// store's error body ({"error":{"type":…,"reason":…}}, or a plain string) is
// parsed for the type and reason.
func StatusError(op string, req Request, status int, body []byte) *Error {
	typ, reason := ParseErrorBody(body)
	if typ == "" && reason == "" {
		reason = httpStatusText(status)
	}
	if status == 403 {
		reason = forbiddenReason(reason, req)
	}
	return &Error{
		Op: op, Method: req.Method, Path: req.Path, Status: status,
		Type: typ, Reason: reason,
		// 4xx other than 429 is a request the cluster judged (our request,
		// its state, or a conflict); it is still the cluster's answer, so
		// Downstream is true except for 400/405/413, which mean we built a
		// bad request.
		Downstream: status != 400 && status != 405 && status != 413,
		Retryable:  RetryableStatus(status),
	}
}

// TransportError builds the *Error for a call that got no answer. Network
// failures (refused, reset, timeouts — including the per-request timeout) are
// downstream and retryable; a cancelled context is neither retried nor
// blamed on the cluster. Client.Do and Client.Call also clear both flags
// when the caller's own context has ended. secrets are scrubbed from the
// message (a transport error may quote a URL).
func TransportError(op string, req Request, err error, secrets ...string) *Error {
	e := &Error{Op: op, Method: req.Method, Path: req.Path, Err: scrubError(err, secrets)}
	if !errors.Is(err, context.Canceled) {
		e.Downstream = true
		e.Retryable = errors.Is(err, context.DeadlineExceeded) || isRetryableNetErr(err)
	}
	return e
}

// transportError is TransportError plus the caller's context: when ctx has
// ended, the caller gave up and nothing is retried or blamed on the cluster.
func transportError(ctx context.Context, op string, req Request, err error, secrets []string) *Error {
	e := TransportError(op, req, err, secrets...)
	if ctx.Err() != nil {
		e.Downstream, e.Retryable = false, false
	}
	return e
}

// ConfigErrorf builds a non-retryable error about edgewatch's own settings.
// It matches ErrConfig.
func ConfigErrorf(format string, args ...any) *Error {
	return &Error{Op: "config", Reason: fmt.Sprintf(format, args...)}
}

// IndexMissingError: an index, alias, data stream or pattern a source was
// told to read matches no index. It matches ErrNotFound; its message is one
// short line naming the index (the caller adds the setting that named it).
type IndexMissingError struct {
	Index string
}

func (e *IndexMissingError) Error() string {
	if strings.ContainsAny(e.Index, "*,") {
		return "no index matches " + e.Index
	}
	return "no index, alias or data stream named " + e.Index
}

// Is matches ErrNotFound.
func (e *IndexMissingError) Is(target error) bool { return target == ErrNotFound }

// IsRetryable reports whether err (or an error it wraps) is a retryable
// *Error.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// IsNotFound reports whether err says that what was asked for does not
// exist: a 404, or an error answer whose type is a *_not_found_exception.
func IsNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	var e *Error
	return errors.As(err, &e) && strings.Contains(e.Type, "not_found")
}

// IsDownstream reports whether err was caused by the cluster (an error
// answer or an unreachable cluster) rather than by edgewatch.
func IsDownstream(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Downstream
}

// ParseErrorBody extracts the error type and reason from an OpenSearch or
// Elasticsearch error body. Both stores answer
// {"error":{"root_cause":[…],"type":…,"reason":…,"caused_by":{…}},"status":N};
// some endpoints answer {"error":"text","status":N}. The reason gains the
// innermost caused_by reason when it adds information.
func ParseErrorBody(body []byte) (typ, reason string) {
	if len(body) == 0 {
		return "", ""
	}
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || len(env.Error) == 0 {
		return "", truncate(strings.TrimSpace(string(body)), 300)
	}
	var s string
	if json.Unmarshal(env.Error, &s) == nil {
		return "", truncate(s, 300)
	}
	var d errorDetail
	if json.Unmarshal(env.Error, &d) != nil {
		return "", truncate(string(env.Error), 300)
	}
	return d.Type, d.fullReason()
}

// errorDetail is the {"type","reason","caused_by"} shape shared by request
// errors and bulk item errors.
type errorDetail struct {
	Type     string       `json:"type"`
	Reason   string       `json:"reason"`
	CausedBy *errorDetail `json:"caused_by,omitempty"`
	// Elasticsearch says here why a credential was refused ("API key: api
	// key is expired").
	Unsuccessful string `json:"additional_unsuccessful_credentials,omitempty"`
}

func (d *errorDetail) fullReason() string {
	r := d.Reason
	if d.Unsuccessful != "" {
		r += " (" + d.Unsuccessful + ")"
	}
	inner := d.CausedBy
	for inner != nil && inner.CausedBy != nil {
		inner = inner.CausedBy
	}
	if inner != nil && inner.Reason != "" && !strings.Contains(r, inner.Reason) {
		r += " (caused by " + inner.Type + ": " + inner.Reason + ")"
	}
	return truncate(r, 1000)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func httpStatusText(status int) string {
	switch {
	case status == 429:
		return "too many requests"
	case status >= 500:
		return "server error"
	case status == 404:
		return "not found"
	}
	return "HTTP " + strconv.Itoa(status)
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isRetryableNetErr(err error) bool {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return true
	case isNetTimeout(err):
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	msg := err.Error()
	// Transports wrap some failures in plain errors; match their text.
	for _, s := range []string{"connection refused", "connection reset", "EOF", "broken pipe", "no such host", "i/o timeout"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// scrubbedError keeps the chain of err (for errors.Is) but renders a message
// with the secrets replaced.
type scrubbedError struct {
	msg string
	err error
}

func (s *scrubbedError) Error() string { return s.msg }
func (s *scrubbedError) Unwrap() error { return s.err }

func scrubError(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := Redact(err.Error(), secrets...)
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}

// Redact replaces every non-empty secret in s with "[redacted]", and the
// password of any URL userinfo ("user:pass@host") as well.
func Redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 3 {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return redactUserinfo(s)
}

const redacted = "[redacted]"

// redactUserinfo rewrites "scheme://user:pass@" to "scheme://user:[redacted]@".
func redactUserinfo(s string) string {
	for i := 0; ; {
		j := strings.Index(s[i:], "://")
		if j < 0 {
			return s
		}
		start := i + j + 3
		end := start
		for end < len(s) && !strings.ContainsRune("/ \t\n\"'?#", rune(s[end])) {
			end++
		}
		if at := strings.LastIndexByte(s[start:end], '@'); at >= 0 {
			ui := s[start : start+at]
			if c := strings.IndexByte(ui, ':'); c >= 0 && ui[c+1:] != redacted {
				s = s[:start] + ui[:c+1] + redacted + s[start+at:]
				end = start + c + 1 + len(redacted) + 1
			}
		}
		i = end
	}
}
