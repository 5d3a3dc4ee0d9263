package alertstore_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors/alertstore"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/dashboards"
)

const testRule = "ewtest-rule"

// groupRef is what a group should say: its count, first and last event
// times, first finding id and highest severity.
type groupRef struct {
	Count      int64
	Start, End time.Time
	First      string
	Severity   int
}

// reference groups alerts by spec with plain loops: the expected grouped
// alerts, keyed by group id.
func reference(spec correlation.GroupSpec, alerts []*correlation.Alert) map[string]groupRef {
	out := map[string]groupRef{}
	seen := map[string]bool{}
	for _, a := range alerts {
		if seen[a.Event.ID] {
			continue
		}
		seen[a.Event.ID] = true
		id := spec.ID(testRule, spec.KeyOf(a))
		r, ok := out[id]
		if !ok {
			r = groupRef{Start: a.Timestamp, End: a.Timestamp, First: a.Event.ID, Severity: a.Event.Severity}
		}
		r.Count++
		if a.Timestamp.Before(r.Start) || (a.Timestamp.Equal(r.Start) && a.Event.ID < r.First) {
			r.Start, r.First = a.Timestamp, a.Event.ID
		}
		if a.Timestamp.After(r.End) {
			r.End = a.Timestamp
		}
		r.Severity = max(r.Severity, a.Event.Severity)
		out[id] = r
	}
	return out
}

// stored reads the grouped alerts of alias, failing on a group id held
// twice or an alert whose _id is not its event.id.
func stored(t *testing.T, tg clustertest.Target, alias string) map[string]groupRef {
	t.Helper()
	out := map[string]groupRef{}
	for _, h := range search(t, tg, alias) {
		var a correlation.Alert
		if err := json.Unmarshal(h.Source, &a); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[h.ID]; dup {
			t.Errorf("group %s is stored twice", h.ID)
		}
		s := a.Edgewatch.Suppression
		if s == nil || a.Event.ID != h.ID || a.Edgewatch.GroupID != h.ID {
			t.Fatalf("document %s in %s is not a grouped alert with that id", h.ID, h.Index)
		}
		out[h.ID] = groupRef{Count: s.DocsCount, Start: s.Start, End: s.End, First: s.FirstEventID, Severity: a.Event.Severity}
	}
	return out
}

func compare(t *testing.T, got, want map[string]groupRef) {
	t.Helper()
	bad := 0
	for id, w := range want {
		g, ok := got[id]
		if !ok || g.Count != w.Count || !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || g.First != w.First || g.Severity != w.Severity {
			if bad++; bad <= 5 {
				t.Errorf("group %s: got %+v (present %v), want %+v", id[:12], g, ok, w)
			}
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("unexpected group %s", id[:12])
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d groups differ", bad, len(want))
	}
}

// groupAliases are a test's alert and findings aliases with their templates.
func groupAliases(t *testing.T, tg clustertest.Target) (alerts, findings string) {
	t.Helper()
	alerts = alias(t, tg, "ewtest-galerts")
	findings = clustertest.Name(t, tg, "ewtest-gfindings")
	useTemplate(t, tg, dashboards.FindingsTemplate, findings)
	return alerts, findings
}

func testSpec(t *testing.T) correlation.GroupSpec {
	t.Helper()
	spec, err := correlation.NewGroupSpec([]string{"host.id", "source.ip", "destination.port"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// withGroups sets each alert's edgewatch.group_id, as the engine does.
func withGroups(spec correlation.GroupSpec, alerts []*correlation.Alert) []*correlation.Alert {
	for _, a := range alerts {
		a.Edgewatch.GroupID = spec.ID(testRule, spec.KeyOf(a))
	}
	return alerts
}

// runGroups is one run of a grouping detection over alerts through a
// fresh store on c: evidence in engine-sized batches, then the groups.
func runGroups(ctx context.Context, c *cluster.Client, spec correlation.GroupSpec, alerts, findings string, evs []*correlation.Alert) (alertstore.GroupResult, error) {
	st := alertstore.NewGroupStore(c, spec, testRule, alerts, findings, alertstore.Options{})
	for start := 0; start < len(evs); start += 500 {
		if _, err := st.Evidence(ctx, evs[start:min(start+500, len(evs))]); err != nil {
			return alertstore.GroupResult{}, err
		}
	}
	return st.Flush(ctx, time.Now(), "run", nil)
}

// TestGroupsExactAcrossRunsRolloversAndRaces (issue 15): two runs over
// overlapping windows with a rollover of both aliases between them, a
// rerun of the same window, then two concurrent runs over overlapping
// events leave one grouped alert per group whose docs_count, start, end,
// first event and severity equal the reference over all the events.
func TestGroupsExactAcrossRunsRolloversAndRaces(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		spec := testSpec(t)
		alerts, findings := groupAliases(t, tg)
		evs := withGroups(spec, events(0, 1200, 6*time.Hour))

		// The second run overlaps the first and brings events of the first
		// one's last groups that it had not seen (late arrivals).
		first, err := runGroups(ctx, tg.Client, spec, alerts, findings, evs[:450])
		if err != nil {
			t.Fatal(err)
		}
		if want := len(reference(spec, evs[:450])); first.Created != want || first.Updated != 0 {
			t.Errorf("first run: %+v, want %d created", first, want)
		}
		compare(t, stored(t, tg, alerts), reference(spec, evs[:450]))

		rollover(t, tg, alerts)
		rollover(t, tg, findings)
		second, err := runGroups(ctx, tg.Client, spec, alerts, findings, evs[400:800]) // overlaps the first
		if err != nil {
			t.Fatal(err)
		}
		if second.Updated == 0 || second.Created == 0 {
			t.Errorf("second run: %+v, want groups both updated (in the old backing index) and created", second)
		}
		compare(t, stored(t, tg, alerts), reference(spec, evs[:800]))

		rerun, err := runGroups(ctx, tg.Client, spec, alerts, findings, evs[400:800])
		if err != nil {
			t.Fatal(err)
		}
		if rerun.Created != 0 || rerun.Updated != 0 || rerun.Unchanged != rerun.Touched {
			t.Errorf("rerun of the same window: %+v, want every group unchanged", rerun)
		}

		var wg sync.WaitGroup
		results := make([]alertstore.GroupResult, 2)
		errs := make([]error, 2)
		for i, part := range [][]*correlation.Alert{evs[700:1200], evs[650:1100]} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = runGroups(ctx, tg.Client, spec, alerts, findings, part)
			}()
		}
		wg.Wait()
		for i := range errs {
			if errs[i] != nil {
				t.Fatalf("concurrent run %d: %v", i, errs[i])
			}
		}
		t.Logf("concurrent runs: %+v / %+v", results[0], results[1])
		compare(t, stored(t, tg, alerts), reference(spec, evs))
		if got := idsIn(t, tg, findings); !slices.Equal(got, idsOf(evs)) {
			t.Errorf("findings hold %d ids, want the %d events once each", len(got), len(evs))
		}
	})
}

// TestGroupsLostRace forces the interleavings the optimistic concurrency
// exists for: run X reads a group's version and aggregates, then run Y
// stores more evidence and writes the group, then X writes. X's write must
// fail (409), be re-read and recounted, for a create and for an update;
// without the condition X would overwrite Y's counts with its older ones.
func TestGroupsLostRace(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		spec := testSpec(t)
		alerts, findings := groupAliases(t, tg)
		evs := withGroups(spec, events(0, 400, 2*time.Hour))

		var all []*correlation.Alert
		for phase, parts := range [][2][]*correlation.Alert{{evs[0:100], evs[100:200]}, {evs[200:300], evs[300:400]}} {
			paused, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			hooked := tg.Client.WithDoer(cluster.DoerFunc(func(ctx context.Context, req cluster.Request) (*cluster.Response, error) {
				if req.Path == "/_bulk" { // X's first grouped-alert write waits for Y
					once.Do(func() { close(paused); <-release })
				}
				return tg.Client.Doer().Do(ctx, req)
			}))
			x := alertstore.NewGroupStore(hooked, spec, testRule, alerts, findings, alertstore.Options{})
			if _, err := x.Evidence(ctx, parts[0]); err != nil {
				t.Fatal(err)
			}
			var xres alertstore.GroupResult
			var xerr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				xres, xerr = x.Flush(ctx, time.Now(), "x", nil)
			}()
			select {
			case <-paused:
			case <-done:
				t.Fatalf("phase %d: X finished without writing: %+v %v", phase, xres, xerr)
			}
			yres, err := runGroups(ctx, tg.Client, spec, alerts, findings, parts[1])
			if err != nil {
				t.Fatal(err)
			}
			close(release)
			<-done
			if xerr != nil {
				t.Fatal(xerr)
			}
			if xres.Conflicts == 0 {
				t.Errorf("phase %d: X's write did not conflict (X %+v, Y %+v)", phase, xres, yres)
			}
			all = append(all, parts[0]...)
			all = append(all, parts[1]...)
			compare(t, stored(t, tg, alerts), reference(spec, all))
		}
	})
}
