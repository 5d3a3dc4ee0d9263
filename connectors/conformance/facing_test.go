package conformance

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/google/go-cmp/cmp"
)

// The reference itself: the cases the facing dataset is built around.
func TestReferenceFacing(t *testing.T) {
	rows := FacingDataset(4)
	got := ReferenceFacing(rows, cluster.ProfileAdvancedHunting, 0, FacingWindow.From, FacingWindow.To)
	for _, want := range []string{
		"dev-s:22 s4",   // started facing again
		"dev-u:443 u2",  // tie: the larger id, facing
		"dev-v:443 v1",  // 100 ns later
		"dev-w:443 w3",  // a tie below the latest time changes nothing
		"dev-o:3389 o1", // "03389"
		"dev-p:3389 o2", // 3389.0
		"dev-x:1433 x1", // x0 and x9 are outside the window
		"dev-y:1433 y1", // the later rows do not decode
		"dev-z:8080 z1", // the key mentioned twice
		"dev-m00:5985 m00b",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("reference lacks %q:\n%v", want, got)
		}
	}
	for _, absent := range []string{"dev-s:3389", "dev-t:443", "dev-n:", "dev-m01:5985"} {
		for _, g := range got {
			if len(g) >= len(absent) && g[:len(absent)] == absent {
				t.Errorf("reference holds %q", g)
			}
		}
	}
	// A millisecond store sees v1 and v2 as a tie: the id decides.
	if ms := ReferenceFacing(rows, cluster.ProfileElasticM365, 1e6, FacingWindow.From, FacingWindow.To); slices.Contains(ms, "dev-v:443 v1") {
		t.Errorf("millisecond reference keeps v1: %v", ms)
	}
}

func TestFacingOpenSearch(t *testing.T)    { testFacingRead(t, TestTarget(t, cluster.OpenSearch)) }
func TestFacingElasticsearch(t *testing.T) { testFacingRead(t, TestTarget(t, cluster.Elasticsearch)) }

// testFacingRead reads the facing dataset in every profile both ways (the
// latest row per pair on the cluster, and every row) and checks both
// against the reference, and that the latest-per-pair read took the paths
// the dataset is built to exercise.
func testFacingRead(t *testing.T, tg Target) {
	const pageSize, many = 5, 12
	rows := FacingDataset(many)
	for _, profile := range clusterProfiles {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			index, prec := LoadFacing(t, tg, profile, rows)
			want := ReferenceFacing(rows, profile, prec, FacingWindow.From, FacingWindow.To)
			for _, mode := range []string{cluster.FacingReadAuto, cluster.FacingReadRows} {
				t.Run(mode, func(t *testing.T) {
					src, err := cluster.NewClientSource(tg.Client, cluster.SourceConfig{
						DeviceInfoIndex: index, NetworkEventsIndex: index, Profile: profile,
						PageSize: pageSize, FacingRead: mode, Logger: slog.New(slog.DiscardHandler),
					})
					if err != nil {
						t.Fatal(err)
					}
					fs, rep := ReadFacing(t, src, FacingWindow.From, FacingWindow.To)
					plan := src.LastFacingPlan()
					t.Logf("facing plan: %+v", plan)
					if diff := cmp.Diff(want, FacingText(fs)); diff != "" {
						t.Errorf("facing set (-want +got):\n%s", diff)
					}
					if rep.Skipped[cluster.SkipBadTime] == 0 {
						t.Errorf("the row with a date for a time was not counted: %+v", rep.Skipped)
					}
					if mode == cluster.FacingReadRows {
						if plan.Mode != cluster.FacingModeRows {
							t.Errorf("mode %q, want rows", plan.Mode)
						}
						return
					}
					if plan.Mode != cluster.FacingModeLatest {
						t.Fatalf("mode %q, want %s (notes %q)", plan.Mode, cluster.FacingModeLatest, plan.Notes)
					}
					if plan.TiedDevices == 0 {
						t.Error("no tie was read in full")
					}
					if plan.Rechecked == 0 {
						t.Error("no device was re-read after its latest row did not decode")
					}
					var read int
					for _, r := range rows {
						if r.Holds(profile) {
							read++
						}
					}
					if plan.Hits >= int64(read) {
						t.Errorf("latest per pair read %d documents of %d", plan.Hits, read)
					}
				})
			}
		})
	}
}
