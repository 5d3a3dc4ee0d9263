package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// The Alerting plugin cannot run on the integ-test distributions (it needs
// lang-painless and plugins not on Maven Central, see README), so its
// monitor search is modelled here from its source: monitors live in
// .opendistro-alerting-config with monitor.name mapped as text plus a
// monitor.name.keyword sub-field (keyword, ignore_above 256; alerting
// core/src/main/resources/mappings/scheduled-jobs.json), and
// POST _plugins/_alerting/monitors/_search runs the body as a search there.

// fakeAlerting holds monitors by id, in creation order.
type fakeAlerting struct {
	mu      sync.Mutex
	ids     []string
	names   map[string]string
	next    int
	bodies  []json.RawMessage // search bodies received
	creates int
	updated []string
	deleted []string
}

// tokens is the standard analyzer on a monitor name: lower case, split on
// anything that is not a letter or digit.
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

// search answers the two query shapes edgewatch ever sent: a term query on
// monitor.name.keyword (exact) and a match_phrase on monitor.name (the
// name's tokens in a row). Hits come back in index order: equal scores,
// which field-length norms quantised to one byte easily give for names one
// token apart.
func (a *fakeAlerting) search(req cluster.Request) (int, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bodies = append(a.bodies, req.Body)
	if a.next == 0 { // no monitor was ever created: no config index yet
		return 404, `{"error":{"type":"index_not_found_exception","reason":"no such index [.opendistro-alerting-config]"},"status":404}`
	}
	var q struct {
		Size  *int `json:"size"`
		Query struct {
			MatchPhrase map[string]string `json:"match_phrase"`
			Bool        struct {
				Filter []struct {
					Term map[string]string `json:"term"`
				} `json:"filter"`
			} `json:"bool"`
		} `json:"query"`
	}
	if err := json.Unmarshal(req.Body, &q); err != nil {
		return 400, `{"error":{"type":"parsing_exception","reason":"bad body"},"status":400}`
	}
	var match func(name string) bool
	switch {
	case len(q.Query.Bool.Filter) == 1 && q.Query.Bool.Filter[0].Term["monitor.name.keyword"] != "":
		want := q.Query.Bool.Filter[0].Term["monitor.name.keyword"]
		match = func(name string) bool { return name == want && len(name) <= 256 }
	case q.Query.MatchPhrase["monitor.name"] != "":
		want := tokens(q.Query.MatchPhrase["monitor.name"])
		match = func(name string) bool {
			got := tokens(name)
			for i := 0; i+len(want) <= len(got); i++ {
				if slices.Equal(got[i:i+len(want)], want) {
					return true
				}
			}
			return false
		}
	default:
		return 400, `{"error":{"type":"parsing_exception","reason":"unexpected query"},"status":400}`
	}
	size := 10
	if q.Size != nil {
		size = *q.Size
	}
	var hits []any
	for _, id := range a.ids {
		if match(a.names[id]) && len(hits) < size {
			hits = append(hits, map[string]any{"_id": id, "_source": map[string]any{"type": "monitor", "monitor": map[string]any{"name": a.names[id]}}})
		}
	}
	b, _ := json.Marshal(map[string]any{"hits": map[string]any{"hits": hits}})
	return 200, string(b)
}

func (a *fakeAlerting) add(name string) string {
	a.next++
	id := fmt.Sprintf("m-%d", a.next)
	a.ids = append(a.ids, id)
	a.names[id] = name
	return id
}

func (a *fakeAlerting) named(name string) int {
	n := 0
	for _, id := range a.ids {
		if a.names[id] == name {
			n++
		}
	}
	return n
}

// route puts the Notifications channel and the Alerting monitor API on f.
func (a *fakeAlerting) route(f *fakeCluster) {
	channel := false
	f.onFunc(http.MethodGet, "/_plugins/_notifications/configs/edgewatch-prod", func(cluster.Request) (int, string) {
		if channel {
			return 200, `{"config_list":[{"config_id":"edgewatch-prod"}]}`
		}
		return 404, `{"error":{"type":"status_exception","reason":"Config not found"},"status":404}`
	})
	f.onFunc(http.MethodPost, "/_plugins/_notifications/configs", func(cluster.Request) (int, string) {
		channel = true
		return 200, `{"config_id":"edgewatch-prod"}`
	})
	f.on(http.MethodPut, "/_plugins/_notifications/configs/edgewatch-prod", 200, `{"config_id":"edgewatch-prod"}`)
	f.on(http.MethodDelete, "/_plugins/_notifications/configs/edgewatch-prod", 200, `{"delete_response_list":{}}`)
	f.onFunc(http.MethodPost, "/_plugins/_alerting/monitors/_search", a.search)
	f.onFunc(http.MethodPost, "/_plugins/_alerting/monitors", func(req cluster.Request) (int, string) {
		var m struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(req.Body, &m)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.creates++
		return 201, `{"_id":"` + a.add(m.Name) + `"}`
	})
	byID := func(req cluster.Request) (string, bool) {
		id, ok := strings.CutPrefix(req.Path, "/_plugins/_alerting/monitors/")
		a.mu.Lock()
		defer a.mu.Unlock()
		_, exists := a.names[id]
		return id, ok && exists
	}
	f.onFunc(http.MethodPut, "*", func(req cluster.Request) (int, string) {
		id, ok := byID(req)
		if !ok {
			return 404, `{"error":"not found"}`
		}
		a.mu.Lock()
		a.updated = append(a.updated, id)
		a.mu.Unlock()
		return 200, `{"_id":"` + id + `"}`
	})
	f.onFunc(http.MethodGet, "*", func(req cluster.Request) (int, string) {
		if _, ok := byID(req); ok {
			return 200, `{"_id":"x"}`
		}
		return 400, `{"error":"no handler found for uri [` + req.Path + `] and method [GET]"}`
	})
	f.onFunc(http.MethodDelete, "*", func(req cluster.Request) (int, string) {
		id, ok := byID(req)
		if !ok {
			return 404, `{"error":"not found"}`
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.deleted = append(a.deleted, id)
		a.ids = slices.DeleteFunc(a.ids, func(x string) bool { return x == id })
		delete(a.names, id)
		return 200, `{"_id":"` + id + `"}`
	})
}

// TestMonitorLookupIsExact: install finds its monitor by the exact name
// (a term query on monitor.name.keyword), so a monitor whose name merely
// starts with it ("edgewatch-prod-x") never hides it, install never
// creates a duplicate and never touches the decoy, and uninstall removes
// every monitor of the exact name (duplicates an older install made) and
// only those.
func TestMonitorLookupIsExact(t *testing.T) {
	secrets := map[string]string{wire.SecretWebhookToken: "tok-0123456789abcdef"}
	args := wire.InstallArgs{Triggers: true, EdgewatchURL: "https://edgewatch.example:8443", StackArgs: wire.StackArgs{Detection: "prod"}}
	cases := map[string]struct {
		before      []string // monitor names present before the first install
		wantCreates int
		wantUpdated []string // ids re-applied over two installs
		wantDetail  string   // in the second install's monitor step
		wantDeleted []string
	}{
		"decoy created first": {
			before:      []string{"edgewatch-prod-x"},
			wantCreates: 1, wantUpdated: []string{"m-2"}, wantDeleted: []string{"m-2"},
		},
		"decoy and an older exact monitor": {
			before:      []string{"edgewatch-prod-x", "edgewatch-prod"},
			wantCreates: 0, wantUpdated: []string{"m-2", "m-2"}, wantDeleted: []string{"m-2"},
		},
		"duplicates from an older install": {
			before:      []string{"edgewatch-prod-x", "edgewatch-prod", "edgewatch-prod"},
			wantCreates: 0, wantUpdated: []string{"m-2", "m-2"}, wantDetail: "2 monitors have this name (m-2, m-3)",
			wantDeleted: []string{"m-2", "m-3"},
		},
		"nothing yet": {
			wantCreates: 1, wantUpdated: []string{"m-1"}, wantDeleted: []string{"m-1"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, cluster.OpenSearch)
			withTemplates(f)
			a := &fakeAlerting{names: map[string]string{}}
			for _, n := range tc.before {
				a.add(n)
			}
			a.route(f)

			runInstall(t, f, args, secrets)
			r := runInstall(t, f, args, secrets)
			mon := stepOf(r, "trigger", "alerting monitor edgewatch-prod")
			if mon.Outcome != wire.StepUpdated || !strings.Contains(mon.Detail, tc.wantDetail) {
				t.Errorf("second install: %s, want updated with %q", mon, tc.wantDetail)
			}
			if a.creates != tc.wantCreates || !slices.Equal(a.updated, tc.wantUpdated) {
				t.Errorf("created %d, updated %v; want %d, %v", a.creates, a.updated, tc.wantCreates, tc.wantUpdated)
			}
			if n := a.named("edgewatch-prod"); n != max(1, len(tc.before)-1) {
				t.Errorf("%d monitors named edgewatch-prod after two installs", n)
			}
			for _, body := range a.bodies {
				var q map[string]any
				_ = json.Unmarshal(body, &q)
				if got, _ := json.Marshal(q["query"]); string(got) != `{"bool":{"filter":[{"term":{"monitor.name.keyword":"edgewatch-prod"}}]}}` {
					t.Errorf("monitor search query %s, want a term on monitor.name.keyword", got)
				}
			}

			u := runUninstall(t, f, wire.UninstallArgs{StackArgs: wire.StackArgs{Detection: "prod"}})
			if !slices.Equal(a.deleted, tc.wantDeleted) {
				t.Errorf("uninstall deleted %v, want %v (%v)", a.deleted, tc.wantDeleted, outcomes(u))
			}
			if len(tc.before) > 0 && a.names["m-1"] != "edgewatch-prod-x" {
				t.Error("the decoy monitor was touched")
			}
		})
	}
}
