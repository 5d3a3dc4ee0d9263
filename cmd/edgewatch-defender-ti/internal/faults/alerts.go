package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// AlertsPattern is what AlertCounts reads by default: every alert index,
// whatever the layout (one index, per-detection rollover aliases).
const AlertsPattern = wire.AlertsPattern

// AlertCounts counts the alert documents of rule ruleID per finding id
// (event.id, which the alert templates map as a keyword) across the
// indices index names (AlertsPattern when empty). A count above one is a
// duplicate: the same finding stored twice (in two backing indices, say).
// Give each fault run its own rule id and its alerts are told apart from
// any other run's on the same cluster. Partial answers are errors (Call).
func AlertCounts(ctx context.Context, c *cluster.Client, index, ruleID string) (map[string]int, error) {
	if index == "" {
		index = AlertsPattern
	}
	if err := c.Refresh(ctx, index); err != nil {
		return nil, err
	}
	out := map[string]int{}
	var after json.RawMessage
	for {
		comp := map[string]any{
			"size":    10000,
			"sources": []any{map[string]any{"id": map[string]any{"terms": map[string]any{"field": "event.id"}}}},
		}
		if after != nil {
			comp["after"] = after
		}
		body := map[string]any{
			"size": 0, "track_total_hits": false,
			"query": map[string]any{"term": map[string]any{"rule.id": ruleID}},
			"aggs":  map[string]any{"ids": map[string]any{"composite": comp}},
		}
		var r struct {
			Aggregations struct {
				IDs struct {
					AfterKey json.RawMessage `json:"after_key"`
					Buckets  []struct {
						Key struct {
							ID string `json:"id"`
						} `json:"key"`
						DocCount int `json:"doc_count"`
					} `json:"buckets"`
				} `json:"ids"`
			} `json:"aggregations"`
		}
		req := cluster.Request{Method: http.MethodPost, Path: cluster.DocPath(index, "_search"), Body: cluster.JSON(body)}
		if err := c.Call(ctx, "count alerts in "+index, req, &r); err != nil {
			return nil, err
		}
		for _, b := range r.Aggregations.IDs.Buckets {
			out[b.Key.ID] += b.DocCount
		}
		if len(r.Aggregations.IDs.Buckets) == 0 || r.Aggregations.IDs.AfterKey == nil {
			return out, nil
		}
		after = r.Aggregations.IDs.AfterKey
	}
}

// Diff is how the alerts stored compare with the reference.
type Diff struct {
	Want      int `json:"want"`      // findings in the reference
	Stored    int `json:"stored"`    // alert documents stored
	Lost      int `json:"lost"`      // reference findings with no alert
	Duplicate int `json:"duplicate"` // alert documents beyond the first per finding
	Extra     int `json:"extra"`     // findings stored that the reference does not have
	// Examples: a few ids of each kind, sorted.
	LostIDs, DuplicateIDs, ExtraIDs []string `json:",omitempty"`
}

// OK reports 0 lost, 0 duplicate, 0 extra.
func (d Diff) OK() bool { return d.Lost == 0 && d.Duplicate == 0 && d.Extra == 0 }

// String renders "lost 0, duplicate 0, extra 0 (want 812, stored 812)".
func (d Diff) String() string {
	s := fmt.Sprintf("lost %d, duplicate %d, extra %d (want %d, stored %d)", d.Lost, d.Duplicate, d.Extra, d.Want, d.Stored)
	for _, x := range []struct {
		what string
		ids  []string
	}{{"lost", d.LostIDs}, {"duplicate", d.DuplicateIDs}, {"extra", d.ExtraIDs}} {
		if len(x.ids) > 0 {
			s += fmt.Sprintf("; %s e.g. %v", x.what, x.ids)
		}
	}
	return s
}

// Compare compares stored alert counts with the reference finding ids.
func Compare(want map[string]bool, got map[string]int) Diff {
	d := Diff{Want: len(want)}
	const examples = 5
	for id, n := range got {
		d.Stored += n
		if n > 1 {
			d.Duplicate += n - 1
			d.DuplicateIDs = append(d.DuplicateIDs, id)
		}
		if !want[id] {
			d.Extra++
			d.ExtraIDs = append(d.ExtraIDs, id)
		}
	}
	for id := range want {
		if got[id] == 0 {
			d.Lost++
			d.LostIDs = append(d.LostIDs, id)
		}
	}
	for _, ids := range []*[]string{&d.LostIDs, &d.DuplicateIDs, &d.ExtraIDs} {
		sort.Strings(*ids)
		if len(*ids) > examples {
			*ids = (*ids)[:examples]
		}
	}
	return d
}

// Reference runs the detection in file mode over the dataset's files with
// rule ruleID (and the feed file, any level) and returns the finding ids:
// what a run over the same rows in a cluster must store.
func Reference(ctx context.Context, d Dataset, ruleID string) (map[string]bool, *wire.Summary, error) {
	s := wire.Settings{
		Source:        wire.SourceFile,
		DeviceInfo:    []string{d.Path(DeviceInfoFile)},
		NetworkEvents: []string{d.Path(NetworkEventsFile)},
		Feeds:         []string{d.Path(FeedFile)},
		RuleID:        ruleID,
	}
	obs := &collect{ids: map[string]bool{}}
	sum, err := engine.Run(ctx, s, nil, obs)
	if err != nil {
		return nil, sum, fmt.Errorf("file-mode reference run: %w", err)
	}
	return obs.ids, sum, nil
}

// Settings are the run settings of the dataset's detection over a cluster:
// the files' feed, rule ruleID, and the given indices.
func (d Dataset) Settings(c *cluster.Client, ruleID, deviceInfoIndex, eventsIndex, alertIndex string) wire.Settings {
	return wire.Settings{
		Source: string(c.Flavor()),
		Feeds:  []string{d.Path(FeedFile)},
		RuleID: ruleID,
		Cluster: &wire.ClusterSettings{
			DeviceInfoIndex: deviceInfoIndex, NetworkEventsIndex: eventsIndex, AlertIndex: alertIndex,
			Profile: cluster.ProfileAdvancedHunting,
		},
	}
}

type collect struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (*collect) Progress(wire.Progress) {}

func (o *collect) Alerts(_ context.Context, batch engine.Batch) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, a := range batch.Alerts {
		o.ids[a.Event.ID] = true
	}
	return nil
}
