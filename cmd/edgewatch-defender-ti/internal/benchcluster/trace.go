package benchcluster

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
)

// traceDoer records every request's path, duration and sizes, for the
// per-request breakdown --trace prints.
type traceDoer struct {
	next cluster.Doer
	t0   time.Time

	mu      sync.Mutex
	entries []traceEntry
}

type traceEntry struct {
	start, dur   time.Duration
	method, path string
	reqB, respB  int
	status       int
	aggs         string
}

func (d *traceDoer) Do(ctx context.Context, req cluster.Request) (*cluster.Response, error) {
	start := time.Now()
	resp, err := d.next.Do(ctx, req)
	e := traceEntry{start: start.Sub(d.t0), dur: time.Since(start), method: req.Method, path: req.Path, reqB: len(req.Body)}
	if resp != nil {
		e.respB, e.status = len(resp.Body), resp.Status
	}
	b := string(req.Body[:min(len(req.Body), 4096)])
	switch {
	case strings.Contains(b, `"composite"`):
		e.aggs = "composite"
	case strings.Contains(b, `"cardinality"`):
		e.aggs = "measure"
	case strings.Contains(b, `"pit"`) && strings.Contains(b, `"size":0`):
		e.aggs = "pit-count"
	case strings.Contains(b, `"pit"`):
		e.aggs = "pit-page"
	}
	d.mu.Lock()
	d.entries = append(d.entries, e)
	d.mu.Unlock()
	return resp, err
}

// reset starts a new trace.
func (d *traceDoer) reset() {
	d.mu.Lock()
	d.t0 = time.Now()
	d.entries = d.entries[:0]
	d.mu.Unlock()
}

func (d *traceDoer) print(w io.Writer, title string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(w, "  trace %s:\n", title)
	for _, e := range d.entries {
		fmt.Fprintf(w, "    +%5dms %5dms %-6s %-40s %-9s req %7dB resp %8dB %d\n",
			e.start.Milliseconds(), e.dur.Milliseconds(), e.method, e.path, e.aggs, e.reqB, e.respB, e.status)
	}
}

// noCacheDoer asks every index search to bypass the shard request cache.
type noCacheDoer struct{ next cluster.Doer }

func (d noCacheDoer) Do(ctx context.Context, req cluster.Request) (*cluster.Response, error) {
	if strings.HasSuffix(req.Path, "/_search") && req.Path != "/_search" {
		q := url.Values{}
		for k, v := range req.Query {
			q[k] = v
		}
		q.Set("request_cache", "false")
		req.Query = q
	}
	return d.next.Do(ctx, req)
}
