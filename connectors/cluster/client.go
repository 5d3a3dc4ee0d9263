package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Flavor tells the two stores apart where their APIs differ (PIT endpoints,
// API keys, version checks).
type Flavor string

// The supported flavors.
const (
	OpenSearch    Flavor = "opensearch"
	Elasticsearch Flavor = "elasticsearch"
)

// Request is one REST call.
type Request struct {
	Method string     // GET, POST, PUT, DELETE, HEAD
	Path   string     // "/index/_search", always starting with "/"
	Query  url.Values // optional
	Body   []byte     // optional JSON (or NDJSON for _bulk)
	NDJSON bool       // body is NDJSON (bulk)
}

// Response is a cluster answer. Body is fully read.
type Response struct {
	Status int
	Body   []byte
	// Header holds the response headers (e.g. X-Elastic-Product); adapters
	// fill it, fakes may leave it nil.
	Header http.Header
}

// Doer performs one request through an official client. Transport errors are
// returned as error; HTTP error statuses are returned in Response.
type Doer interface {
	Do(ctx context.Context, req Request) (*Response, error)
}

// DoerFunc adapts a function to Doer (fakes in tests, fault injection).
type DoerFunc func(ctx context.Context, req Request) (*Response, error)

// Do calls f.
func (f DoerFunc) Do(ctx context.Context, req Request) (*Response, error) { return f(ctx, req) }

// Client is the store-neutral handle every cluster operation hangs off: a
// Doer plus what the version check learned about the server.
type Client struct {
	doer    Doer
	info    ServerInfo
	log     *slog.Logger
	retry   RetryPolicy
	secrets []string
	who     string // Config.Identity, for messages
}

// Option tunes a Client.
type Option func(*Client)

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithRetry sets the policy for edgewatch's own retries (bulk rounds,
// idempotent calls); the official client's transport retries come first.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithIdentity names the credential the client sends (Config.Identity:
// "user NAME", "API key id ID"), for messages about privileges.
func WithIdentity(who string) Option { return func(c *Client) { c.who = who } }

// WithSecrets lists values to scrub from transport error messages.
func WithSecrets(s ...string) Option { return func(c *Client) { c.secrets = append(c.secrets, s...) } }

// ConnectBounded calls connect (a connector's Connect) with a background
// context bounded by cfg's timeout: each connector's New.
func ConnectBounded(connect func(context.Context, Config, ...Option) (*Client, error), cfg Config, opts ...Option) (*Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.EffectiveTimeout())
	defer cancel()
	return connect(ctx, cfg, opts...)
}

// Handshake is the end of each connector's Connect, once it has built d
// from cfg: it asks the server what it is (DetectServer), refuses the other
// flavor with an error matching ErrWrongFlavor, and returns the client over
// d, which scrubs cfg's secrets from messages and names its identity (opts
// come after). Errors are explained by ConnectError.
func Handshake(ctx context.Context, want Flavor, cfg Config, d Doer, opts ...Option) (*Client, error) {
	if n, err := cfg.Normalize(); err == nil {
		cfg = n
	}
	info, err := DetectServer(ctx, d, cfg.Secrets()...)
	if err == nil {
		err = CheckFlavor(info, want)
	}
	if err != nil {
		return nil, ConnectError(want, cfg, err)
	}
	opts = append([]Option{WithSecrets(cfg.Secrets()...), WithIdentity(cfg.Identity())}, opts...)
	return NewClient(d, info, opts...), nil
}

// NewClient wraps a Doer. info is what the connector's version check found
// (Flavor at least).
func NewClient(d Doer, info ServerInfo, opts ...Option) *Client {
	c := &Client{doer: d, info: info, log: slog.Default(), retry: DefaultRetry}
	for _, o := range opts {
		o(c)
	}
	return c
}

// WithDoer returns a copy of c that sends its requests through d (for
// fault injection in tests and for request middlewares).
func (c *Client) WithDoer(d Doer) *Client {
	cp := *c
	cp.doer = d
	return &cp
}

// Flavor is the server's flavor.
func (c *Client) Flavor() Flavor { return c.info.Flavor }

// Info is what the version check learned.
func (c *Client) Info() ServerInfo { return c.info }

// Identity names the client's credential ("user NAME", "API key id ID"),
// or "" when unknown.
func (c *Client) Identity() string { return c.who }

// Doer is the underlying Doer.
func (c *Client) Doer() Doer { return c.doer }

// Logger is the client's logger.
func (c *Client) Logger() *slog.Logger { return c.log }

// Do performs req and returns the raw answer; transport failures come back
// as *Error.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	resp, err := c.doer.Do(ctx, req)
	if err != nil {
		return nil, transportError(ctx, "", req, err, c.secrets)
	}
	return resp, nil
}

// Call performs req, turns an error status into *Error (op names the
// operation in messages) and decodes a JSON answer into out when out is not
// nil. A search, count or point-in-time creation answered by only some
// shards is an error matching ErrPartialResults, never a result.
func (c *Client) Call(ctx context.Context, op string, req Request, out any) error {
	search := isSearchCall(req)
	if search {
		req.Query = shardsKept(req.Query)
	}
	resp, err := c.doer.Do(ctx, req)
	if err != nil {
		return transportError(ctx, op, req, err, c.secrets)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return StatusError(op, req, resp.Status, resp.Body)
	}
	if search {
		if err := checkSearchAnswer(op, req, resp.Body); err != nil {
			return err
		}
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return &Error{Op: op, Method: req.Method, Path: req.Path, Status: resp.Status,
				Reason: "cannot decode answer: " + err.Error(), Downstream: true}
		}
	}
	return nil
}

// SearchHits is the hits of a search answer, for Call to decode into:
// each hit's _source decodes into S (json.RawMessage keeps it raw).
type SearchHits[S any] struct {
	Hits struct {
		Hits []Hit[S] `json:"hits"`
	} `json:"hits"`
}

// Hit is one search hit.
type Hit[S any] struct {
	Index  string `json:"_index"`
	ID     string `json:"_id"`
	Source S      `json:"_source"`
}

// Refresh makes recent writes to index visible to search.
func (c *Client) Refresh(ctx context.Context, index string) error {
	return c.Call(ctx, "refresh "+index, Request{Method: http.MethodPost, Path: DocPath(index, "_refresh")}, nil)
}

// JSON marshals v for a request body, byte for byte as json.Marshal does
// (see appendJSON); it panics only on values that cannot be marshalled (a
// programming error).
func JSON(v any) []byte {
	b, err := appendJSON(nil, v)
	if err != nil {
		panic(fmt.Sprintf("cluster: marshal request body: %v", err))
	}
	return b
}

// ServerInfo is what a version check tells about a server.
type ServerInfo struct {
	Flavor  Flavor `json:"flavor"`
	Version string `json:"version"` // "2.19.6", "8.19.21"
	Major   int    `json:"major"`
	Minor   int    `json:"minor"`
}

// String renders "opensearch 2.19.6".
func (s ServerInfo) String() string { return string(s.Flavor) + " " + s.Version }

// DetectServer asks the server what it is. GET / answers with the version
// and, on OpenSearch, version.distribution "opensearch"; Elasticsearch
// answers every request with the header X-Elastic-Product: Elasticsearch.
// The Elasticsearch integration-test distribution lacks the rest-root module
// and answers GET / with 405, so the local node's info is the fallback.
// secrets are scrubbed from transport error messages.
func DetectServer(ctx context.Context, d Doer, secrets ...string) (ServerInfo, error) {
	root := Request{Method: http.MethodGet, Path: "/"}
	resp, err := d.Do(ctx, root)
	if err != nil {
		return ServerInfo{}, transportError(ctx, "version check", root, err, secrets)
	}
	if resp.Status == 401 || resp.Status == 403 {
		return ServerInfo{}, StatusError("version check", root, resp.Status, resp.Body)
	}
	var info ServerInfo
	elasticHeader := resp.Header.Get("X-Elastic-Product") == "Elasticsearch"
	if resp.Status == 200 {
		var r struct {
			Version struct {
				Number       string `json:"number"`
				Distribution string `json:"distribution"`
			} `json:"version"`
			Tagline string `json:"tagline"`
		}
		if err := json.Unmarshal(resp.Body, &r); err != nil {
			return ServerInfo{}, &Error{Op: "version check", Method: "GET", Path: "/", Status: 200,
				Reason: "answer is not JSON: not an OpenSearch or Elasticsearch server?", Downstream: true}
		}
		info.Version = r.Version.Number
		switch {
		case r.Version.Distribution == "opensearch" || strings.Contains(r.Tagline, "OpenSearch"):
			info.Flavor = OpenSearch
		case elasticHeader || strings.Contains(r.Tagline, "You Know, for Search"):
			info.Flavor = Elasticsearch
		}
	} else {
		nodes := Request{Method: http.MethodGet, Path: "/_nodes/_local",
			Query: url.Values{"filter_path": {"nodes.*.version"}}}
		resp2, err := d.Do(ctx, nodes)
		if err != nil {
			return ServerInfo{}, transportError(ctx, "version check", nodes, err, secrets)
		}
		if resp2.Status != 200 {
			return ServerInfo{}, StatusError("version check", nodes, resp2.Status, resp2.Body)
		}
		var r struct {
			Nodes map[string]struct {
				Version string `json:"version"`
			} `json:"nodes"`
		}
		if err := json.Unmarshal(resp2.Body, &r); err != nil || len(r.Nodes) == 0 {
			return ServerInfo{}, &Error{Op: "version check", Method: "GET", Path: nodes.Path,
				Status: 200, Reason: "no node version in the answer", Downstream: true}
		}
		for _, n := range r.Nodes {
			info.Version = n.Version
		}
		if elasticHeader || resp2.Header.Get("X-Elastic-Product") == "Elasticsearch" {
			info.Flavor = Elasticsearch
		} else {
			info.Flavor = OpenSearch
		}
	}
	if info.Flavor == "" {
		return info, &Error{Op: "version check", Method: "GET", Path: "/", Status: resp.Status,
			Reason: "the server is neither OpenSearch nor Elasticsearch", Downstream: true}
	}
	parts := strings.SplitN(info.Version, ".", 3)
	if len(parts) >= 2 {
		info.Major, _ = strconv.Atoi(parts[0])
		info.Minor, _ = strconv.Atoi(parts[1])
	}
	return info, nil
}

// CheckFlavor returns an ErrWrongFlavor error when the server is not want.
func CheckFlavor(info ServerInfo, want Flavor) error {
	if info.Flavor == want {
		return nil
	}
	other := "opensearch"
	if info.Flavor == Elasticsearch {
		other = "elasticsearch"
	}
	return fmt.Errorf("%w: the server is %s %s, not %s: use the %s connector (--source %s)",
		ErrWrongFlavor, info.Flavor, info.Version, want, other, other)
}

// compactNDJSONLine makes sure a document source is one line: NDJSON allows
// no raw newline inside a document. json.Marshal output never has one; a
// pretty-printed source is compacted.
func compactNDJSONLine(src []byte) ([]byte, error) {
	if bytes.IndexByte(src, '\n') < 0 && bytes.IndexByte(src, '\r') < 0 {
		return src, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, src); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Perform is the Do of a Doer over an official client: it builds req's
// net/http request, sends it with send (the client's transport, which
// retries) within timeout, and reads the answer.
func Perform(ctx context.Context, timeout time.Duration, req Request, send func(*http.Request) (*http.Response, error)) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := NewHTTPRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	res, err := send(hr)
	if err != nil {
		if res != nil && res.Body != nil {
			res.Body.Close()
		}
		return nil, err
	}
	return ReadResponse(res)
}

// NewHTTPRequest builds the net/http request an official client performs
// for req. The URL holds only the path and query: the client's transport
// fills in scheme, host and credentials from its node pool. Request.Path is
// the escaped wire form (see DocPath).
func NewHTTPRequest(ctx context.Context, req Request) (*http.Request, error) {
	if !strings.HasPrefix(req.Path, "/") {
		return nil, ConfigErrorf("request path %q must start with /", req.Path)
	}
	u := &url.URL{RawPath: req.Path}
	p, err := url.PathUnescape(req.Path)
	if err != nil {
		return nil, ConfigErrorf("request path %q: %v", req.Path, err)
	}
	u.Path = p
	if len(req.Query) > 0 {
		u.RawQuery = req.Query.Encode()
	}
	var body io.Reader
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, ConfigErrorf("build request: %v", err)
	}
	// NewRequest parses the URL again; keep the escaped path we meant.
	hr.URL.Path, hr.URL.RawPath = u.Path, u.RawPath
	if len(req.Body) > 0 {
		if req.NDJSON {
			hr.Header.Set("Content-Type", "application/x-ndjson")
		} else {
			hr.Header.Set("Content-Type", "application/json")
		}
	}
	hr.Header.Set("Accept", "application/json")
	return hr, nil
}

// ReadResponse reads and closes an official client's answer.
func ReadResponse(res *http.Response) (*Response, error) {
	defer res.Body.Close()
	// One allocation of the announced size (a page of hits runs to
	// megabytes, which io.ReadAll would grow to by repeated copying); the
	// announcement is only trusted up to maxPrealloc.
	var buf bytes.Buffer
	if n := res.ContentLength; n > 0 {
		buf.Grow(int(min(n, maxPrealloc)) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(res.Body); err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	b := buf.Bytes()
	return &Response{Status: res.StatusCode, Body: b, Header: res.Header}, nil
}

// maxPrealloc bounds the buffer ReadResponse sizes from Content-Length.
const maxPrealloc = 64 << 20

// DocPath joins path segments, escaping each: DocPath("idx", "_doc",
// "1.2.3.0/24") is "/idx/_doc/1.2.3.0%2F24".
func DocPath(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}
