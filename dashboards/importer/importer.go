package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/edgewatch/edgewatch/dashboards"
)

// Kind is the product a Target runs.
type Kind string

// Products.
const (
	Kibana               Kind = "kibana"
	OpenSearchDashboards Kind = "opensearch-dashboards"
)

// Target is a Kibana or OpenSearch Dashboards instance. Password and APIKey
// are secrets: String and LogValue redact them and no error carries them.
type Target struct {
	Kind Kind
	// URL is the Kibana/Dashboards base URL (port 5601 by default, not the
	// cluster's 9200), including any server.basePath, e.g.
	// "https://osd.example/_dashboards".
	URL string
	// Space is a Kibana space id ("" = the default space). Kibana only.
	Space string
	// Tenant is an OpenSearch Security tenant sent as the securitytenant
	// header ("global", "private" or a custom tenant). OSD only; it must be
	// listed in opensearch.requestHeadersWhitelist.
	Tenant string
	// Username and Password: HTTP basic auth.
	Username string
	Password string
	// APIKey is a Kibana API key, the base64 "encoded" form, sent as
	// "Authorization: ApiKey <key>". Kibana only.
	APIKey string
	// Client is the HTTP client (TLS settings, timeouts); nil means
	// http.DefaultClient. Give it a timeout.
	Client *http.Client
}

const redacted = "[redacted]"

// String describes the target without secrets.
func (t Target) String() string {
	return fmt.Sprintf("%s %s space=%q tenant=%q user=%q password=%s api_key=%s",
		t.Kind, redactURL(t.URL), t.Space, t.Tenant, t.Username, mask(t.Password), mask(t.APIKey))
}

// GoString describes the target for %#v without secrets.
func (t Target) GoString() string { return "importer.Target{" + t.String() + "}" }

// LogValue describes the target for log/slog without secrets.
func (t Target) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kind", string(t.Kind)),
		slog.String("url", redactURL(t.URL)),
		slog.String("space", t.Space),
		slog.String("tenant", t.Tenant),
		slog.String("username", t.Username),
		slog.String("password", mask(t.Password)),
		slog.String("api_key", mask(t.APIKey)),
	)
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// ObjectError is one saved object the server refused.
type ObjectError struct {
	ID    string      `json:"id"`
	Type  string      `json:"type"`
	Title string      `json:"title,omitempty"`
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the reason of an ObjectError: its type is conflict,
// ambiguous_conflict, missing_references, unsupported_type or unknown.
type ErrorDetail struct {
	Type              string `json:"type"`
	Message           string `json:"message,omitempty"`
	StatusCode        int    `json:"statusCode,omitempty"`
	Error             string `json:"error,omitempty"`
	MissingReferences []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"references,omitempty"`
}

// String renders an error as "visualization/x: missing_references (index-pattern/y)".
func (e ObjectError) String() string {
	s := e.Type + "/" + e.ID + ": " + e.Error.Type
	var extra []string
	for _, r := range e.Error.MissingReferences {
		extra = append(extra, r.Type+"/"+r.ID)
	}
	if e.Error.Message != "" {
		extra = append(extra, e.Error.Message)
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, "; ") + ")"
	}
	return s
}

// Result is the import API's answer.
type Result struct {
	Success        bool          `json:"success"`
	SuccessCount   int           `json:"successCount"`
	Errors         []ObjectError `json:"errors,omitempty"`
	SuccessResults []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"successResults,omitempty"`
}

// Sentinel errors.
var (
	// ErrObjectsFailed: the server answered 200 but refused some objects;
	// the Result lists them.
	ErrObjectsFailed = errors.New("saved objects import: some objects failed")
	// ErrHTTP: the server answered with a non-2xx status.
	ErrHTTP = errors.New("saved objects API error")
	// ErrTarget: the Target is not usable (bad URL, option for the wrong product).
	ErrTarget = errors.New("invalid dashboards target")
)

// maxBody caps how much of an answer is read.
const maxBody = 4 << 20

func (t Target) validate() (*url.URL, error) {
	switch t.Kind {
	case Kibana:
		if t.Tenant != "" {
			return nil, fmt.Errorf("%w: tenants are an OpenSearch Dashboards feature; Kibana uses spaces", ErrTarget)
		}
		if t.Space != "" && !validSpace(t.Space) {
			return nil, fmt.Errorf("%w: space id %q: lower-case letters, digits, '_' and '-' only", ErrTarget, t.Space)
		}
	case OpenSearchDashboards:
		if t.Space != "" {
			return nil, fmt.Errorf("%w: spaces are a Kibana feature; OpenSearch Dashboards uses tenants", ErrTarget)
		}
		if t.APIKey != "" {
			return nil, fmt.Errorf("%w: OpenSearch Dashboards takes basic auth, not an API key", ErrTarget)
		}
		if strings.ContainsAny(t.Tenant, "\r\n") {
			return nil, fmt.Errorf("%w: tenant contains a line break", ErrTarget)
		}
	default:
		return nil, fmt.Errorf("%w: kind %q (want %q or %q)", ErrTarget, t.Kind, Kibana, OpenSearchDashboards)
	}
	if t.APIKey != "" && t.Username != "" {
		return nil, fmt.Errorf("%w: give a username/password or an API key, not both", ErrTarget)
	}
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: URL does not parse", ErrTarget)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: URL %s: want http(s)://host[:port][/basePath]", ErrTarget, u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: URL %s: put credentials in Username/Password, not the URL", ErrTarget, u.Redacted())
	}
	return u, nil
}

func validSpace(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// endpoint joins the base URL, the Kibana space prefix and the API path
// segments, each segment escaped on its own.
func (t Target) endpoint(base *url.URL, query url.Values, segs ...string) string {
	u := *base
	raw := strings.TrimRight(u.EscapedPath(), "/")
	if t.Kind == Kibana && t.Space != "" && t.Space != "default" {
		raw += "/s/" + url.PathEscape(t.Space)
	}
	for _, s := range segs {
		raw += "/" + url.PathEscape(s)
	}
	u.RawPath = raw
	u.Path, _ = url.PathUnescape(raw)
	u.RawQuery = query.Encode()
	return u.String()
}

func (t Target) newRequest(ctx context.Context, method, endpoint string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, endpoint, body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTarget, err)
	}
	switch t.Kind {
	case Kibana:
		req.Header.Set("kbn-xsrf", "true")
	case OpenSearchDashboards:
		req.Header.Set("osd-xsrf", "true")
		if t.Tenant != "" {
			req.Header.Set("securitytenant", t.Tenant)
		}
	}
	switch {
	case t.APIKey != "":
		req.Header.Set("Authorization", "ApiKey "+t.APIKey)
	case t.Username != "" || t.Password != "":
		req.SetBasicAuth(t.Username, t.Password)
	}
	return req, nil
}

func (t Target) client() *http.Client {
	if t.Client != nil {
		return t.Client
	}
	return http.DefaultClient
}

// do sends req and returns the status and (capped) body. Transport errors are
// returned without the URL's credentials (there are none: validate refuses
// them) and without any header.
func (t Target) do(req *http.Request) (int, []byte, error) {
	resp, err := t.client().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: read answer: %w", req.Method, req.URL.Redacted(), err)
	}
	return resp.StatusCode, body, nil
}

// httpError renders a non-2xx answer with the server's reason.
func httpError(req *http.Request, status int, body []byte) error {
	reason := strings.TrimSpace(string(body))
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && (e.Error != "" || e.Message != "") {
		reason = strings.TrimSpace(e.Error + ": " + e.Message)
	}
	if len(reason) > 512 {
		reason = reason[:512] + "…"
	}
	return fmt.Errorf("%w: %s %s: HTTP %d: %s", ErrHTTP, req.Method, req.URL.Redacted(), status, reason)
}

// Import posts an NDJSON bundle to the saved-objects import API:
// POST <URL>[/s/<space>]/api/saved_objects/_import[?overwrite=true], a
// multipart/form-data body whose part "file" has a filename ending ".ndjson",
// with the product's XSRF header (kbn-xsrf or osd-xsrf) and, on OSD, the
// securitytenant header.
//
// The API answers 200 even when objects fail; Import then returns the Result
// and an error wrapping ErrObjectsFailed that names each failed object and
// its reason. A non-2xx answer returns an error wrapping ErrHTTP with the
// server's message.
func Import(ctx context.Context, t Target, ndjson []byte, overwrite bool) (Result, error) {
	base, err := t.validate()
	if err != nil {
		return Result{}, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "edgewatch.ndjson")
	if err != nil {
		return Result{}, fmt.Errorf("saved objects import: build body: %w", err)
	}
	if _, err := fw.Write(ndjson); err != nil {
		return Result{}, fmt.Errorf("saved objects import: build body: %w", err)
	}
	if err := mw.Close(); err != nil {
		return Result{}, fmt.Errorf("saved objects import: build body: %w", err)
	}
	q := url.Values{}
	if overwrite {
		q.Set("overwrite", "true")
	}
	req, err := t.newRequest(ctx, http.MethodPost, t.endpoint(base, q, "api", "saved_objects", "_import"), &body)
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	status, answer, err := t.do(req)
	if err != nil {
		return Result{}, fmt.Errorf("saved objects import: %w", err)
	}
	if status < 200 || status > 299 {
		return Result{}, fmt.Errorf("saved objects import: %w", httpError(req, status, answer))
	}
	var res Result
	if err := json.Unmarshal(answer, &res); err != nil {
		return Result{}, fmt.Errorf("saved objects import: %s answered HTTP %d with a body that is not the import result: %w", req.URL.Redacted(), status, err)
	}
	if !res.Success || len(res.Errors) > 0 {
		msgs := make([]string, 0, len(res.Errors))
		for _, e := range res.Errors {
			msgs = append(msgs, e.String())
		}
		if len(msgs) == 0 {
			msgs = append(msgs, "success=false without per-object errors")
		}
		return res, fmt.Errorf("%w: %d imported, %d failed: %s", ErrObjectsFailed, res.SuccessCount, len(res.Errors), strings.Join(msgs, ", "))
	}
	return res, nil
}

// ObjectRef names one saved object (dashboards.ObjectRef).
type ObjectRef = dashboards.ObjectRef

// DeleteOutcome is what happened to one object.
type DeleteOutcome struct {
	ObjectRef
	Deleted bool  // the server deleted it
	Absent  bool  // it was not there (404): nothing to do
	Err     error // any other failure
}

// Delete removes saved objects by id (DELETE <URL>[/s/<space>]/api/saved_objects/<type>/<id>),
// in the order given (Uninstall passes a bundle's objects last first, so the
// dashboard goes before the visualizations it shows). A 404 counts as already absent. It
// goes on after a failure and returns every outcome plus an error joining
// the failures.
func Delete(ctx context.Context, t Target, objs []ObjectRef) ([]DeleteOutcome, error) {
	base, err := t.validate()
	if err != nil {
		return nil, err
	}
	out := make([]DeleteOutcome, 0, len(objs))
	var errs []error
	for _, o := range objs {
		oc := DeleteOutcome{ObjectRef: o}
		if o.Type == "" || o.ID == "" || strings.ContainsAny(o.Type+o.ID, "/?#") {
			oc.Err = fmt.Errorf("%w: bad object reference %q/%q", ErrTarget, o.Type, o.ID)
		} else if err := ctx.Err(); err != nil {
			oc.Err = err
		} else {
			oc.Deleted, oc.Absent, oc.Err = t.deleteOne(ctx, base, o)
		}
		if oc.Err != nil {
			errs = append(errs, fmt.Errorf("delete %s/%s: %w", o.Type, o.ID, oc.Err))
		}
		out = append(out, oc)
	}
	return out, errors.Join(errs...)
}

func (t Target) deleteOne(ctx context.Context, base *url.URL, o ObjectRef) (deleted, absent bool, err error) {
	ep := t.endpoint(base, nil, "api", "saved_objects", o.Type, o.ID)
	req, err := t.newRequest(ctx, http.MethodDelete, ep, nil)
	if err != nil {
		return false, false, err
	}
	status, body, err := t.do(req)
	switch {
	case err != nil:
		return false, false, err
	case status == http.StatusNotFound:
		return false, true, nil
	case status >= 200 && status <= 299:
		return true, false, nil
	default:
		return false, false, httpError(req, status, body)
	}
}

// Uninstall deletes every object of an NDJSON bundle, last object first.
func Uninstall(ctx context.Context, t Target, ndjson []byte) ([]DeleteOutcome, error) {
	refs, err := dashboards.ObjectRefs(ndjson)
	if err != nil {
		return nil, fmt.Errorf("saved objects uninstall: %w", err)
	}
	rev := make([]ObjectRef, len(refs))
	for i, r := range refs {
		rev[len(refs)-1-i] = r
	}
	return Delete(ctx, t, rev)
}
