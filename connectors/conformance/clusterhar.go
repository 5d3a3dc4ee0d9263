package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
)

// Target is a cluster the suite loads datasets into.
type Target struct {
	// Client reads the data: the source under test uses it.
	Client *cluster.Client
	// Loader, when set, creates, fills and deletes the test indices
	// instead of Client: the admin of a secured server, where Client is
	// the least-privileged detector that may only read them.
	Loader *cluster.Client
	// IndexPrefix starts the test index names (default
	// "edgewatch-conf-"): "defender-" for a detector that reads defender-*.
	IndexPrefix string
}

// Doer is the target's request path for loading data: the Loader's when
// set, else the Client's.
func (tg Target) Doer() cluster.Doer {
	if tg.Loader != nil {
		return tg.Loader.Doer()
	}
	return tg.Client.Doer()
}

// Flavor is the target's store.
func (tg Target) Flavor() cluster.Flavor { return tg.Client.Flavor() }

// PageSize of the sources the cluster harness builds: small, so the
// standard dataset spans several pages on several shards.
const PageSize = 3

// ClusterHarness loads a dataset into fresh indices of tg in profile's
// shape and returns a cluster.Source over them. Elastic's integration keeps
// every table in one data stream, so elastic-m365 gets one index for both
// tables; the other profiles get one index per table. The indices are
// deleted when the test ends.
func ClusterHarness(tg Target, profile string) Harness {
	return func(t *testing.T, ds Dataset) Loaded {
		t.Helper()
		ctx := context.Background()
		prefix := tg.IndexPrefix
		if prefix == "" {
			prefix = "edgewatch-conf-"
		}
		base := UniqueIndex(prefix + profile)
		diIndex, evIndex := base+"-deviceinfo", base+"-networkevents"
		if profile == cluster.ProfileElasticM365 {
			diIndex, evIndex = base+"-events", base+"-events"
		}
		var dropped []string
		for _, idx := range uniq(diIndex, evIndex) {
			CreateIndex(t, tg, idx, IndexBody(profile, tg.Flavor()))
		}
		var docs []Doc
		for _, tbl := range []struct {
			name, index string
			rows        []Row
		}{{TableDeviceInfo, diIndex, ds.DeviceInfo}, {TableNetworkEvents, evIndex, ds.NetworkEvents}} {
			for _, r := range tbl.rows {
				d, ok := Shape(profile, tbl.name, r)
				if !ok {
					dropped = append(dropped, r.Case())
					continue
				}
				docs = append(docs, Doc{Index: tbl.index, Source: d})
			}
		}
		// The first document of each index goes alone: with dynamic
		// mapping, one bulk spread over two shards can race to map a field
		// both as long (3389) and as text ("443"); one document first
		// fixes the mapping as a real, older index would have it.
		var firsts, rest []Doc
		seen := map[string]bool{}
		for _, d := range docs {
			if !seen[d.Index] {
				seen[d.Index] = true
				firsts = append(firsts, d)
				continue
			}
			rest = append(rest, d)
		}
		for _, batch := range [][]Doc{firsts, rest} {
			if err := Bulk(ctx, tg.Doer(), batch, true); err != nil {
				t.Fatalf("load %s: %v", base, err)
			}
		}
		src, err := cluster.NewClientSource(tg.Client, cluster.SourceConfig{
			DeviceInfoIndex:    diIndex,
			NetworkEventsIndex: evIndex,
			Profile:            profile,
			PageSize:           PageSize,
			Logger:             slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		l := Loaded{Source: src, Dropped: dropped}
		if profile == cluster.ProfileElasticM365 {
			l.TimePrecision = time.Millisecond
		}
		return l
	}
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

// UniqueIndex returns prefix plus a random suffix (index names are lower
// case).
func UniqueIndex(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(prefix) + "-" + hex.EncodeToString(b[:])
}

// CreateIndex creates index with body and deletes it when t ends.
func CreateIndex(t testing.TB, tg Target, index string, body any) {
	t.Helper()
	ctx := context.Background()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tg.Doer().Do(ctx, cluster.Request{Method: http.MethodPut, Path: "/" + index, Body: b})
	if err != nil {
		t.Fatalf("create index %s: %v", index, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("create index %s: HTTP %d: %s", index, resp.Status, resp.Body)
	}
	t.Cleanup(func() {
		resp, err := tg.Doer().Do(context.Background(), cluster.Request{Method: http.MethodDelete, Path: "/" + index})
		if err != nil {
			t.Errorf("delete index %s: %v", index, err)
		} else if resp.Status != http.StatusOK && resp.Status != http.StatusNotFound {
			t.Errorf("delete index %s: HTTP %d: %s", index, resp.Status, resp.Body)
		}
	})
}

// Doc is one document to index.
type Doc struct {
	Index  string
	ID     string // "" = generated
	Source any
}

// Bulk indexes docs with one _bulk request (refresh=true when refresh) and
// fails on any item error.
func Bulk(ctx context.Context, doer cluster.Doer, docs []Doc, refresh bool) error {
	if len(docs) == 0 {
		return nil
	}
	var buf bytes.Buffer
	for _, d := range docs {
		meta := map[string]any{"_index": d.Index}
		if d.ID != "" {
			meta["_id"] = d.ID
		}
		if err := json.NewEncoder(&buf).Encode(map[string]any{"index": meta}); err != nil {
			return err
		}
		if err := json.NewEncoder(&buf).Encode(d.Source); err != nil {
			return err
		}
	}
	q := url.Values{}
	if refresh {
		q.Set("refresh", "true")
	}
	resp, err := doer.Do(ctx, cluster.Request{Method: http.MethodPost, Path: "/_bulk", Query: q, Body: buf.Bytes(), NDJSON: true})
	if err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	if resp.Status != http.StatusOK {
		return fmt.Errorf("bulk: HTTP %d: %.300s", resp.Status, resp.Body)
	}
	var r struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"items"`
	}
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	if r.Errors {
		for i, it := range r.Items {
			for _, res := range it {
				if res.Status >= 300 {
					return fmt.Errorf("bulk item %d: HTTP %d: %s", i, res.Status, res.Error)
				}
			}
		}
	}
	return nil
}
