package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/file"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/google/go-cmp/cmp"
)

// The same Defender events give the same finding ids whether the detection
// reads them from an Event Hub export (Streaming API records, times in
// 100 ns ticks) or from what Elastic's m365_defender pipeline makes of them
// (ECS documents in a data stream, @timestamp cut to milliseconds): the id
// hashes the event time at millisecond precision (correlation.FindingID).
func TestFindingIDsFileVsDataStream(t *testing.T) {
	ds, exp := Standard()
	ind, err := IndicatorSet(exp.Small)
	if err != nil {
		t.Fatal(err)
	}
	// The export: one Streaming API record a line, per table.
	dir := t.TempDir()
	paths := map[string]string{}
	for name, rows := range ds.Tables() {
		var buf bytes.Buffer
		for _, r := range rows {
			d, _ := Shape(cluster.ProfileStreaming, name, r)
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(append(b, '\n'))
		}
		paths[name] = filepath.Join(dir, name+".ndjson")
		if err := os.WriteFile(paths[name], buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fromFile := findingIDs(t, file.New(file.Options{DeviceInfo: []string{paths[TableDeviceInfo]}, NetworkEvents: []string{paths[TableNetworkEvents]}}), exp, ind)
	if len(fromFile) < 5 {
		t.Fatalf("the export gave %d findings", len(fromFile))
	}
	// The events whose times the pipeline changes (100 ns ticks) are among
	// them, so the comparison is not vacuous.
	var ticks int
	for _, r := range ds.NetworkEvents {
		if s, _ := r["Timestamp"].(string); slices.Contains(exp.Matches, fmt.Sprint(r["ReportId"])) {
			if at := ts(s); !at.Equal(at.Truncate(time.Millisecond)) {
				ticks++
			}
		}
	}
	if ticks < 2 {
		t.Fatalf("only %d matched events have sub-millisecond times", ticks)
	}

	for _, f := range []cluster.Flavor{cluster.OpenSearch, cluster.Elasticsearch} {
		t.Run(string(f), func(t *testing.T) {
			tg := TestTarget(t, f)
			stream := dataStream(t, tg, cluster.ProfileElasticM365)
			var docs []Doc
			for name, rows := range ds.Tables() {
				for _, r := range rows {
					if d, ok := Shape(cluster.ProfileElasticM365, name, r); ok {
						docs = append(docs, Doc{Index: stream, Source: d})
					}
				}
			}
			if err := bulkCreate(context.Background(), tg.Doer(), docs); err != nil {
				t.Fatal(err)
			}
			src, err := cluster.NewClientSource(tg.Client, cluster.SourceConfig{
				DeviceInfoIndex: stream, NetworkEventsIndex: stream, Profile: cluster.ProfileElasticM365,
				Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			fromStream := findingIDs(t, src, exp, ind)
			if diff := cmp.Diff(fromFile, fromStream); diff != "" {
				t.Errorf("finding ids, export (-) vs data stream (+):\n%s", diff)
			}
		})
	}
}

// findingIDs runs the detection's read path over src (facing step, pushed
// down event step, matcher) and returns the sorted finding ids of the
// alerts it makes.
func findingIDs(t *testing.T, src connectors.Source, exp Expect, ind *correlation.IndicatorSet) []string {
	t.Helper()
	ctx := context.Background()
	var b correlation.FacingBuilder
	if _, err := src.DeviceInfo(ctx, connectors.FacingQuery{From: exp.FacingFrom, To: exp.To}, func(r *correlation.DeviceInfo) error {
		b.Add(r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	fs := b.Build()
	m := correlation.NewMatcher(fs, ind, correlation.MatchOptions{})
	var ids []string
	if _, err := src.NetworkEvents(ctx, connectors.EventQuery{From: exp.From, To: exp.To, Facing: fs, Indicators: ind}, func(ev *correlation.NetworkEvent) error {
		if mt, _, ok := m.Match(ev); ok {
			ids = append(ids, correlation.NewAlert(ev, mt, correlation.DefaultRule(), time.Now()).Event.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids
}

// dataStream creates a data stream for profile's documents (an index
// template with "data_stream": {}, as Elastic's integration installs) and
// removes it when t ends: DELETE _data_stream where the server has it
// (OpenSearch), else a rollover and the deletion of the backing index that
// holds the data (Elasticsearch's integration-test distribution has no data
// stream API, and a data stream's write index cannot be deleted: an empty
// one is left behind).
func dataStream(t *testing.T, tg Target, profile string) string {
	t.Helper()
	ctx := context.Background()
	const template = "edgewatch-it-findingid"
	body := IndexBody(profile, tg.Flavor())
	tmpl := map[string]any{
		"index_patterns": []string{template + "-*"},
		"data_stream":    map[string]any{},
		"priority":       500,
		"template":       map[string]any{"settings": body["settings"], "mappings": body["mappings"]},
	}
	b, _ := json.Marshal(tmpl)
	if resp, err := tg.Doer().Do(ctx, cluster.Request{Method: http.MethodPut, Path: "/_index_template/" + template, Body: b}); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("index template: %v %v", err, respText(resp))
	}
	name := UniqueIndex(template)
	t.Cleanup(func() {
		ctx := context.Background()
		if resp, err := tg.Doer().Do(ctx, cluster.Request{Method: http.MethodDelete, Path: "/_data_stream/" + name}); err == nil && resp.Status == http.StatusOK {
			return
		}
		if resp, err := tg.Doer().Do(ctx, cluster.Request{Method: http.MethodPost, Path: "/" + name + "/_rollover"}); err != nil || resp.Status != http.StatusOK {
			t.Logf("rollover %s: %v %s", name, err, respText(resp))
			return
		}
		resp, err := tg.Doer().Do(ctx, cluster.Request{Method: http.MethodGet, Path: "/" + name + "/_mapping"})
		if err != nil || resp.Status != http.StatusOK {
			t.Logf("backing indices of %s: %v %s", name, err, respText(resp))
			return
		}
		var backing map[string]json.RawMessage
		_ = json.Unmarshal(resp.Body, &backing)
		names := make([]string, 0, len(backing))
		for n := range backing {
			names = append(names, n)
		}
		sort.Strings(names) // the generation suffix sorts; the last is the write index
		for _, n := range names[:max(len(names)-1, 0)] {
			if resp, err := tg.Doer().Do(ctx, cluster.Request{Method: http.MethodDelete, Path: "/" + n}); err != nil || resp.Status != http.StatusOK {
				t.Logf("delete %s: %v %s", n, err, respText(resp))
			}
		}
	})
	return name
}

// bulkCreate indexes docs with op_type create (what a data stream takes),
// refreshed.
func bulkCreate(ctx context.Context, doer cluster.Doer, docs []Doc) error {
	var buf bytes.Buffer
	for _, d := range docs {
		meta, _ := json.Marshal(map[string]any{"create": map[string]any{"_index": d.Index}})
		src, err := json.Marshal(d.Source)
		if err != nil {
			return err
		}
		buf.Write(append(meta, '\n'))
		buf.Write(append(src, '\n'))
	}
	resp, err := doer.Do(ctx, cluster.Request{Method: http.MethodPost, Path: "/_bulk", Query: map[string][]string{"refresh": {"true"}}, Body: buf.Bytes(), NDJSON: true})
	if err != nil {
		return err
	}
	var r struct {
		Errors bool `json:"errors"`
	}
	if resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &r) != nil || r.Errors {
		return fmt.Errorf("bulk create: HTTP %d: %.500s", resp.Status, resp.Body)
	}
	return nil
}

func respText(r *cluster.Response) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("HTTP %d: %.300s", r.Status, r.Body)
}
