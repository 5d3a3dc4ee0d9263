package alertstore_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors/alertstore"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/cluster/clustertest"
	"github.com/edgewatch/edgewatch/correlation"
)

// TestRolloverKeepsIDGuarantee (issue 17): alerts written before and after
// a manual _rollover are all readable through the alias; a rerun over the
// old window, whose alerts now sit in an older backing index, writes none
// again; deleting the oldest backing index leaves the newest alerts intact.
func TestRolloverKeepsIDGuarantee(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		a := alias(t, tg, "ewtest-alerts")
		old, newer, newest := events(0, 200, 24*time.Hour), events(200, 100, 24*time.Hour), events(300, 50, 24*time.Hour)

		run := func(name string, batch []alertstoreBatch) {
			t.Helper()
			w := alertstore.NewWriter(tg.Client, a, alertstore.Options{}) // one writer per run
			for _, b := range batch {
				res, err := w.Write(ctx, b.alerts)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if res.Created != b.created || res.AlreadyPresent != len(b.alerts)-b.created || res.Failed != 0 {
					t.Errorf("%s: %+v, want %d created and %d already present", name, res, b.created, len(b.alerts)-b.created)
				}
			}
		}
		run("first run", []alertstoreBatch{{old, len(old)}})
		st, err := alertstore.Resolve(ctx, tg.Client, a)
		if err != nil || st.Concrete || st.Write != alertstore.FirstBackingIndex(a) {
			t.Fatalf("after the first run the alias is %+v (%v), want a write alias on %s", st, err, alertstore.FirstBackingIndex(a))
		}
		r1 := rollover(t, tg, a)
		run("rerun of the old window after the rollover", []alertstoreBatch{{old, 0}})
		run("next window", []alertstoreBatch{{newer, len(newer)}, {old[:10], 0}})
		if got, want := idsIn(t, tg, a), idsOf(slices.Concat(old, newer)); !slices.Equal(got, want) {
			t.Fatalf("alias holds %d ids, want %d (before and after the rollover)", len(got), len(want))
		}
		r2 := rollover(t, tg, a)
		run("after a second rollover", []alertstoreBatch{{newest, len(newest)}, {slices.Concat(old[:5], newer[:5]), 0}})

		// Retention deletes the oldest backing index only.
		clustertest.DeleteIndices(t, tg, r1.OldIndex)
		st, err = alertstore.Resolve(ctx, tg.Client, a)
		if err != nil || len(st.Indices) != 2 || st.Write != r2.NewIndex {
			t.Fatalf("after deleting %s the alias is %+v (%v)", r1.OldIndex, st, err)
		}
		if got, want := idsIn(t, tg, a), idsOf(slices.Concat(newer, newest)); !slices.Equal(got, want) {
			t.Errorf("after deleting the oldest backing index the alias holds %d ids, want the %d newest", len(got), len(want))
		}
	})
}

type alertstoreBatch struct {
	alerts  []*correlation.Alert
	created int
}

// TestPlainCreateDuplicatesAcrossRollover is the control: without the id
// lookup, a bulk create through the alias after a rollover writes every
// old alert a second time. It is what TestRolloverKeepsIDGuarantee would
// see if the Writer did not look ids up.
func TestPlainCreateDuplicatesAcrossRollover(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		a := alias(t, tg, "ewtest-plain")
		alerts := events(0, 20, time.Hour)
		w := alertstore.NewWriter(tg.Client, a, alertstore.Options{})
		if _, err := w.Write(ctx, alerts); err != nil {
			t.Fatal(err)
		}
		rollover(t, tg, a)
		docs := make([]cluster.Doc, len(alerts))
		for i, x := range alerts {
			docs[i] = cluster.Doc{ID: x.Event.ID, Source: x.AppendJSON(nil)}
		}
		res, err := tg.Client.BulkCreate(ctx, a, docs, cluster.BulkOptions{Refresh: "true"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Created != len(alerts) {
			t.Errorf("plain create after a rollover: %+v, want all %d created again", res, len(alerts))
		}
		if n := len(search(t, tg, a)); n != 2*len(alerts) {
			t.Errorf("alias holds %d documents, want %d (each alert twice)", n, 2*len(alerts))
		}
	})
}

// TestWriterResolvesTarget: a missing alias is created on the first write
// (<alias>-000001 as its write index); a concrete index of the alias's name
// (a single alert index from before rollover) is written as it is; with
// NoBootstrap a missing alias is an error naming install.
func TestWriterResolvesTarget(t *testing.T) {
	clustertest.Run(t, func(t *testing.T, tg clustertest.Target) {
		ctx := context.Background()
		t.Run("missing alias is bootstrapped", func(t *testing.T) {
			a := alias(t, tg, "ewtest-boot")
			w := alertstore.NewWriter(tg.Client, a, alertstore.Options{})
			if res, err := w.Write(ctx, events(0, 3, time.Hour)); err != nil || res.Created != 3 {
				t.Fatalf("%+v %v", res, err)
			}
			if st := w.Alias(); st.Concrete || st.Write != a+"-000001" || len(st.Indices) != 1 {
				t.Errorf("alias %+v", st)
			}
		})
		t.Run("concrete index is written in place", func(t *testing.T) {
			a := alias(t, tg, "ewtest-legacy")
			clustertest.Call(t, tg.Client, http.MethodPut, "/"+a, map[string]any{}, nil)
			w := alertstore.NewWriter(tg.Client, a, alertstore.Options{})
			alerts := events(0, 3, time.Hour)
			if res, err := w.Write(ctx, alerts); err != nil || res.Created != 3 {
				t.Fatalf("%+v %v", res, err)
			}
			if res, err := w.Write(ctx, alerts); err != nil || res.AlreadyPresent != 3 {
				t.Fatalf("rewrite: %+v %v", res, err)
			}
			if st := w.Alias(); !st.Concrete || st.Write != a {
				t.Errorf("alias %+v", st)
			}
		})
		t.Run("no bootstrap", func(t *testing.T) {
			a := alias(t, tg, "ewtest-nob")
			w := alertstore.NewWriter(tg.Client, a, alertstore.Options{NoBootstrap: true})
			_, err := w.Write(ctx, events(0, 1, time.Hour))
			if err == nil || !strings.Contains(err.Error(), "edgewatch install") {
				t.Errorf("err = %v, want one naming edgewatch install", err)
			}
		})
	})
}
