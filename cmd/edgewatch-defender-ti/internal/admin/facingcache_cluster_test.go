package admin

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/connectors/conformance"
	"github.com/google/go-cmp/cmp"
)

// The facing state on the real clusters, in every profile: the facing
// dataset (ties, a port that stops facing, a latest row that does not
// decode, …) arrives in two batches; scheduled runs fold it into the state
// kept in a state index, and each run's facing set equals a one-shot read
// of every row of its window, including after a restart. A row indexed
// within the overlap after its time is folded; one indexed later than that
// is not (the documented limit).
func TestFacingStateOnClusters(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctg := conformance.Target{Client: tg.Client}
		const lookback = 10 * 24 * time.Hour
		to1 := time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)
		to2 := conformance.FacingWindow.To
		rows := conformance.FacingDataset(6)
		var first, second []conformance.FacingRow
		for _, r := range rows {
			at, err := time.Parse(time.RFC3339Nano, r.Row["Timestamp"].(string))
			if err == nil && at.Before(to1) {
				first = append(first, r)
			} else {
				second = append(second, r)
			}
		}
		late := func(id string, before time.Duration) conformance.FacingRow {
			r := conformance.FacingDataset(0)[0] // dev-s 3389, facing
			row := conformance.Row{}
			for k, v := range r.Row {
				row[k] = v
			}
			row["DeviceId"], row["Timestamp"] = "dev-"+id, to1.Add(-before).Format(time.RFC3339Nano)
			r.Row, r.ID = row, id
			return r
		}
		second = append(second, late("late-ok", 5*time.Minute), late("too-late", 2*time.Hour))

		for _, profile := range []string{cluster.ProfileAdvancedHunting, cluster.ProfileSentinel, cluster.ProfileStreaming, cluster.ProfileElasticM365} {
			t.Run(profile, func(t *testing.T) {
				index, _ := conformance.LoadFacing(t, ctg, profile, first)
				src, err := cluster.NewClientSource(tg.Client, cluster.SourceConfig{
					DeviceInfoIndex: index, NetworkEventsIndex: index, Profile: profile, PageSize: 5,
					Logger: slog.New(slog.DiscardHandler),
				})
				if err != nil {
					t.Fatal(err)
				}
				store := stack.NewStateStore(tg.Client, clustertest.Name(t, tg, "edgewatch-state-facing"))
				scope := FacingScope{Source: "it|" + index, Detection: "facing-it", Overlap: 10 * time.Minute}
				check := func(name string, cache *FacingCache, to time.Time, missed ...string) {
					t.Helper()
					from := to.Add(-lookback)
					got, _ := conformance.ReadFacing(t, cache.Wrap(scope, src, store), from, to)
					want, _ := conformance.ReadFacing(t, src, from, to)
					w := slices.DeleteFunc(conformance.FacingText(want), func(s string) bool {
						for _, m := range missed {
							if s == m {
								return true
							}
						}
						return false
					})
					if diff := cmp.Diff(w, conformance.FacingText(got)); diff != "" {
						t.Errorf("%s: state (-one-shot +state):\n%s", name, diff)
					}
				}
				serve := &FacingCache{}
				check("first run", serve, to1)
				conformance.IndexFacing(t, ctg, profile, index, second)
				check("second run", serve, to2, "dev-too-late:3389 too-late")
				check("a restarted instance", &FacingCache{}, to2.Add(time.Hour), "dev-too-late:3389 too-late")
				// The state holds the pairs that changed in the second batch.
				got, _ := conformance.ReadFacing(t, serve.Wrap(scope, src, store), to2.Add(2*time.Hour-lookback), to2.Add(2*time.Hour))
				text := conformance.FacingText(got)
				for _, want := range []string{"dev-s:22 s4", "dev-late-ok:3389 late-ok"} {
					if !slices.Contains(text, want) {
						t.Errorf("state lacks %s: %v", want, text)
					}
				}
				for _, gone := range []string{"dev-s:3389 s1", "dev-t:443 t1"} {
					if slices.Contains(text, gone) {
						t.Errorf("state keeps %s", gone)
					}
				}
			})
		}
	})
}
