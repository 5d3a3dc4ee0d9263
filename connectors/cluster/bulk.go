package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// Doc is one document to write: its _id and its JSON source.
type Doc struct {
	ID     string
	Source []byte
}

// BulkOptions tunes BulkCreate and BulkWriter.
type BulkOptions struct {
	// Refresh is passed as the bulk refresh parameter: "" (none), "true",
	// "false" or "wait_for".
	Refresh string
	// MaxBytes and MaxDocs bound one _bulk request (defaults 5 MiB, 1000).
	MaxBytes int
	MaxDocs  int
	// Retry bounds the whole-request retries and the rounds that re-send
	// items answered 429/5xx; zero fields take the client's policy.
	Retry RetryPolicy
	// OnRequest, when set, is called after each _bulk answer with the
	// number of documents sent (progress reporting).
	OnRequest func(sent int)
}

const (
	defaultBulkBytes = 5 << 20
	defaultBulkDocs  = 1000
	// maxKeptFailures bounds BulkResult.Failures; Failed counts them all.
	maxKeptFailures = 100
)

// DocFailure is one document the cluster did not take.
type DocFailure struct {
	ID     string `json:"id"`
	Status int    `json:"status"`
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// String renders "id: 400 mapper_parsing_exception: reason".
func (f DocFailure) String() string {
	s := f.ID + ": "
	if f.Status != 0 {
		s += strconv.Itoa(f.Status) + " "
	}
	if f.Type != "" {
		s += f.Type + ": "
	}
	return s + f.Reason
}

// BulkResult counts what a bulk write did. A document answered 409
// (version_conflict_engine_exception on create) is AlreadyPresent: it was
// written before, under the same deterministic _id.
type BulkResult struct {
	Created        int          `json:"created"`
	AlreadyPresent int          `json:"already_present"`
	Failed         int          `json:"failed"`
	Failures       []DocFailure `json:"failures,omitempty"` // the first 100
	Requests       int          `json:"requests"`           // _bulk calls, retries included
	Retried        int          `json:"retried"`            // item re-sends after 429/5xx
}

func (r *BulkResult) fail(f DocFailure) {
	r.Failed++
	if len(r.Failures) < maxKeptFailures {
		r.Failures = append(r.Failures, f)
	}
}

// BulkError reports the documents a bulk write could not store, precisely:
// document id, status, error type and reason for each (the first 100).
type BulkError struct {
	Index    string
	Total    int // documents offered
	Failed   int
	Failures []DocFailure
}

// Error names the count and the first three failures, or the one reason
// when every failure has the same (a missing privilege refuses them all).
func (e *BulkError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bulk create into %s: %d of %d documents failed", e.Index, e.Failed, e.Total)
	if f, same := e.sameFailure(); same {
		fmt.Fprintf(&b, ", all with %d %s: %s", f.Status, f.Type, f.Reason)
		return b.String()
	}
	for i, f := range e.Failures {
		if i == 3 {
			fmt.Fprintf(&b, "; … (%d more)", e.Failed-3)
			break
		}
		b.WriteString("; ")
		b.WriteString(f.String())
	}
	return b.String()
}

// sameFailure reports whether every document failed alike (status, type
// and reason), and how.
func (e *BulkError) sameFailure() (DocFailure, bool) {
	if len(e.Failures) < 2 || len(e.Failures) != e.Failed {
		return DocFailure{}, false
	}
	f := e.Failures[0]
	for _, g := range e.Failures[1:] {
		if g.Status != f.Status || g.Type != f.Type || g.Reason != f.Reason {
			return DocFailure{}, false
		}
	}
	return f, true
}

// IsDownstream: a document the cluster rejected is the cluster's answer.
func (e *BulkError) IsDownstream() bool { return true }

// BulkCreate writes docs into index with bulk "create" actions: a document
// whose _id exists already is counted as AlreadyPresent, not as an error.
// Whole requests answered 429/5xx (or lost to the network) are retried with
// backoff; items answered 429/5xx inside a 200 are re-sent on their own
// (only those items, each tracked by id) until the retry policy is spent.
// What still fails is in the result and in the returned *BulkError.
func (c *Client) BulkCreate(ctx context.Context, index string, docs []Doc, opts BulkOptions) (BulkResult, error) {
	w := c.NewBulkWriter(index, opts)
	for _, d := range docs {
		if err := w.Add(ctx, d); err != nil {
			res, _ := w.Close(ctx)
			return res, err
		}
	}
	return w.Close(ctx)
}

// BulkWriter streams documents into bulk requests of bounded size.
type BulkWriter struct {
	c     *Client
	index string
	opts  BulkOptions
	buf   []bulkItem
	bytes int
	total int
	res   BulkResult
}

type bulkItem struct {
	id    string
	lines []byte // action line + source line, each ending in '\n'
}

// NewBulkWriter starts a writer into index.
func (c *Client) NewBulkWriter(index string, opts BulkOptions) *BulkWriter {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = defaultBulkBytes
	}
	if opts.MaxDocs <= 0 {
		opts.MaxDocs = defaultBulkDocs
	}
	opts.Retry = opts.Retry.or(c.retry).withDefaults()
	return &BulkWriter{c: c, index: index, opts: opts}
}

// Add queues doc and sends a request when the batch is full. A document
// that cannot be encoded is counted as failed (ours). The error is non-nil
// only when a whole request failed for good (after retries) or ctx ended;
// the writer should then be closed and the load abandoned.
func (w *BulkWriter) Add(ctx context.Context, doc Doc) error {
	w.total++
	src, err := compactNDJSONLine(doc.Source)
	if err != nil || len(bytes.TrimSpace(src)) == 0 {
		reason := "empty source"
		if err != nil {
			reason = "source is not JSON: " + err.Error()
		}
		w.res.fail(DocFailure{ID: doc.ID, Type: "edgewatch_encoding_error", Reason: reason})
		return nil
	}
	var line bytes.Buffer
	line.Grow(len(src) + len(doc.ID) + 32)
	if doc.ID == "" {
		line.WriteString(`{"create":{}}`)
	} else {
		idJSON, _ := json.Marshal(doc.ID)
		line.WriteString(`{"create":{"_id":`)
		line.Write(idJSON)
		line.WriteString(`}}`)
	}
	line.WriteByte('\n')
	line.Write(src)
	line.WriteByte('\n')
	if len(w.buf) > 0 && (w.bytes+line.Len() > w.opts.MaxBytes || len(w.buf) >= w.opts.MaxDocs) {
		if err := w.Flush(ctx); err != nil {
			return err
		}
	}
	w.buf = append(w.buf, bulkItem{id: doc.ID, lines: line.Bytes()})
	w.bytes += line.Len()
	return nil
}

// Flush sends the queued documents.
func (w *BulkWriter) Flush(ctx context.Context) error {
	if len(w.buf) == 0 {
		return nil
	}
	items := w.buf
	w.buf, w.bytes = nil, 0
	return w.sendWithItemRetries(ctx, items)
}

// Result is what the writer did so far.
func (w *BulkWriter) Result() BulkResult { return w.res }

// Close flushes and returns the totals. err is the fatal error of a flush,
// or a *BulkError when some documents failed.
func (w *BulkWriter) Close(ctx context.Context) (BulkResult, error) {
	if err := w.Flush(ctx); err != nil {
		return w.res, err
	}
	if w.res.Failed > 0 {
		return w.res, &BulkError{Index: w.index, Total: w.total, Failed: w.res.Failed, Failures: w.res.Failures}
	}
	return w.res, nil
}

// sendWithItemRetries sends items; those answered 429/5xx are re-sent, with
// backoff, until they succeed or the policy is spent.
func (w *BulkWriter) sendWithItemRetries(ctx context.Context, items []bulkItem) error {
	p := w.opts.Retry
	bo := p.backOff()
	start := time.Now()
	for round := uint(1); ; round++ {
		answers, err := w.send(ctx, items)
		if err != nil {
			for _, it := range items {
				w.res.fail(failureFromErr(it.id, err))
			}
			return err
		}
		var again []bulkItem
		var last []DocFailure
		for i, a := range answers {
			switch {
			case a.Status >= 200 && a.Status < 300:
				w.res.Created++
			case a.Status == 409:
				w.res.AlreadyPresent++
			case RetryableStatus(a.Status):
				again = append(again, items[i])
				last = append(last, a.failure(w.index, items[i].id))
			default:
				w.res.fail(a.failure(w.index, items[i].id))
			}
		}
		if len(again) == 0 {
			return nil
		}
		wait := bo.NextBackOff()
		if round >= p.MaxTries || time.Since(start)+wait > p.MaxElapsed {
			for _, f := range last {
				f.Reason += fmt.Sprintf(" (still failing after %d attempts)", round)
				w.res.fail(f)
			}
			return nil
		}
		w.c.log.Debug("bulk items pushed back, re-sending", "index", w.index, "items", len(again), "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			for _, f := range last {
				w.res.fail(f)
			}
			return context.Cause(ctx)
		case <-t.C:
		}
		w.res.Retried += len(again)
		items = again
	}
}

// BulkAnswer is a _bulk answer as Call decodes it (ask for filter_path
// errors,items.*.status,items.*.error), for a caller that sends its own
// bulk body.
type BulkAnswer struct {
	Errors bool `json:"errors"`
	Items  []map[string]struct {
		Status int             `json:"status"`
		Error  json.RawMessage `json:"error"`
	} `json:"items"`
}

// Failed returns the first item that failed as an error, nil when every
// item succeeded.
func (a BulkAnswer) Failed() error {
	if !a.Errors {
		return nil
	}
	for i, it := range a.Items {
		for _, res := range it { // one key: the action name
			if res.Status >= 300 {
				return fmt.Errorf("bulk item %d: HTTP %d: %s", i, res.Status, res.Error)
			}
		}
	}
	return nil
}

// bulkAnswer is one item of a _bulk answer.
type bulkAnswer struct {
	Status int          `json:"status"`
	Error  *errorDetail `json:"error,omitempty"`
}

func (a bulkAnswer) failure(index, id string) DocFailure {
	f := DocFailure{ID: id, Status: a.Status}
	if a.Error != nil {
		f.Type, f.Reason = a.Error.Type, a.Error.fullReason()
	} else {
		f.Reason = httpStatusText(a.Status)
	}
	if f.Status == 403 {
		f.Reason = forbiddenReason(f.Reason, Request{Path: DocPath(index)})
	}
	return f
}

func failureFromErr(id string, err error) DocFailure {
	f := DocFailure{ID: id, Reason: err.Error()}
	var e *Error
	if errors.As(err, &e) {
		f.Status, f.Type, f.Reason = e.Status, e.Type, e.Reason
		if e.Status == 0 && e.Err != nil {
			f.Reason = e.Err.Error()
		}
	}
	return f
}

// send performs one _bulk request for items, retrying the whole request on
// retryable errors, and returns one answer per item.
func (w *BulkWriter) send(ctx context.Context, items []bulkItem) ([]bulkAnswer, error) {
	size := 0
	for _, it := range items {
		size += len(it.lines)
	}
	body := make([]byte, 0, size)
	for _, it := range items {
		body = append(body, it.lines...)
	}
	q := url.Values{"filter_path": {"errors,items.*.status,items.*.error"}}
	if w.opts.Refresh != "" {
		q.Set("refresh", w.opts.Refresh)
	}
	req := Request{Method: http.MethodPost, Path: DocPath(w.index, "_bulk"), Query: q, Body: body, NDJSON: true}
	op := "bulk create into " + w.index
	answers, err := Retry(ctx, w.opts.Retry, func() ([]bulkAnswer, error) {
		w.res.Requests++
		var r struct {
			Errors bool                    `json:"errors"`
			Items  []map[string]bulkAnswer `json:"items"`
		}
		if err := w.c.Call(ctx, op, req, &r); err != nil {
			return nil, err
		}
		if len(r.Items) != len(items) {
			return nil, &Error{Op: op, Method: req.Method, Path: req.Path, Status: 200, Downstream: true,
				Reason: fmt.Sprintf("answer has %d items for %d documents", len(r.Items), len(items))}
		}
		out := make([]bulkAnswer, len(items))
		for i, m := range r.Items {
			for _, a := range m { // one key: the action name
				out[i] = a
			}
		}
		return out, nil
	}, func(err error, wait time.Duration) {
		w.c.log.Warn("bulk request failed, retrying", "index", w.index, "docs", len(items), "wait", wait, "err", err)
	})
	if err == nil && w.opts.OnRequest != nil {
		w.opts.OnRequest(len(items))
	}
	return answers, err
}

// AlertWriter stores alerts in an alert index with bulk create and the
// deterministic finding id (alert.Event.ID) as _id: a rerun over the same
// window writes nothing new. It implements connectors.AlertWriter.
type AlertWriter struct {
	c       *Client
	index   string
	opts    BulkOptions
	checked sync.Once
}

// NewAlertWriter writes into index ("" = wire.DefaultAlertIndex). Before
// its first write it asks the cluster whether the index gets edgewatch's
// alert mapping (CheckAlertIndex, the rule install applies too) and logs a
// warning only when it does not: an index is allowed whatever its name, and
// a healthy run warns about nothing.
func NewAlertWriter(c *Client, index string, opts BulkOptions) *AlertWriter {
	if index == "" {
		index = wire.DefaultAlertIndex
	}
	return &AlertWriter{c: c, index: index, opts: opts}
}

// checkMapping warns once when the alerts would be mapped dynamically.
func (w *AlertWriter) checkMapping(ctx context.Context) {
	w.checked.Do(func() {
		m, err := CheckAlertIndex(ctx, w.c, w.index)
		switch {
		case err != nil: // unknown (e.g. no privilege to read mappings), not a problem
			w.c.log.Debug("could not check the alert index mapping", "index", w.index, "err", err)
		case !m.OK():
			w.c.log.Warn("alerts would be mapped dynamically: the dashboards cannot use them; run edgewatch install (with --alert-index for an index outside "+
				wire.AlertsPattern+"): "+m.String(), "index", w.index)
		}
	})
}

// Index is the index alerts go to.
func (w *AlertWriter) Index() string { return w.index }

// Write stores alerts. It returns once every accepted alert is acknowledged
// by the cluster (durable in its translog). Alerts already present are
// counted, not errors; alerts that still fail after retries are listed in
// the result and make the error non-nil (a *BulkError), so a run exits
// non-zero.
func (w *AlertWriter) Write(ctx context.Context, alerts []*correlation.Alert) (connectors.WriteResult, error) {
	w.checkMapping(ctx)
	bw := w.c.NewBulkWriter(w.index, w.opts)
	var out connectors.WriteResult
	var src []byte // Add copies the document, so one buffer serves them all
	for _, a := range alerts {
		if a == nil {
			continue
		}
		if a.Event.ID == "" {
			bw.res.fail(DocFailure{Type: "edgewatch_alert_error", Reason: "alert without event.id"})
			bw.total++
			continue
		}
		src = a.AppendJSON(src[:0])
		if err := bw.Add(ctx, Doc{ID: a.Event.ID, Source: src}); err != nil {
			res, _ := bw.Close(ctx)
			return toWriteResult(res), err
		}
	}
	res, err := bw.Close(ctx)
	out = toWriteResult(res)
	return out, err
}

func toWriteResult(r BulkResult) connectors.WriteResult {
	out := connectors.WriteResult{Created: r.Created, AlreadyPresent: r.AlreadyPresent, Failed: r.Failed}
	for _, f := range r.Failures {
		out.Failures = append(out.Failures, f.String())
	}
	return out
}

var _ connectors.AlertWriter = (*AlertWriter)(nil)
