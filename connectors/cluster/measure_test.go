package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// measureDoer answers the measure's two searches: the count, and the
// cardinality (bounded by terminate_after or not). measure asks one at a
// time.
type measureDoer struct {
	base            int64
	subsetDistinct  int64 // with terminate_after
	subsetEarly     bool  // the cluster stopped early on the subset
	fullDistinct    int64 // without terminate_after
	counts, bounded int
	full            int
}

func (d *measureDoer) Do(_ context.Context, req Request) (*Response, error) {
	var v any
	switch {
	case !bytes.Contains(req.Body, []byte(`"cardinality"`)):
		d.counts++
		v = jsonObj{"hits": jsonObj{"total": jsonObj{"value": d.base}}}
	case bytes.Contains(req.Body, []byte(`"terminate_after"`)):
		d.bounded++
		v = jsonObj{"terminated_early": d.subsetEarly, "aggregations": jsonObj{"a0": jsonObj{"f0": jsonObj{"value": d.subsetDistinct}}}}
	default:
		d.full++
		v = jsonObj{"aggregations": jsonObj{"a0": jsonObj{"f0": jsonObj{"value": d.fullDistinct}}}}
	}
	b, _ := json.Marshal(v)
	return &Response{Status: http.StatusOK, Body: b}, nil
}

func TestMeasureSettlesStrategy(t *testing.T) {
	const need = 1000
	tests := []struct {
		name                   string
		d                      measureDoer
		wantBase, wantDistinct int64
		wantLower              bool
		wantBounded, wantFull  int
	}{
		{name: "no events", d: measureDoer{base: 0}, wantBase: 0, wantDistinct: -1},
		{name: "fewer events than need: the count settles it", d: measureDoer{base: 999}, wantBase: 999, wantDistinct: -1},
		{name: "subset already has need remotes", d: measureDoer{base: 50000, subsetDistinct: 1900, subsetEarly: true},
			wantBase: 50000, wantDistinct: 1900, wantLower: true, wantBounded: 1},
		{name: "subset covered everything", d: measureDoer{base: 1500, subsetDistinct: 300, subsetEarly: false},
			wantBase: 1500, wantDistinct: 300, wantBounded: 1},
		{name: "remotes repeat: the full pass decides", d: measureDoer{base: 50000, subsetDistinct: 40, subsetEarly: true, fullDistinct: 700},
			wantBase: 50000, wantDistinct: 700, wantBounded: 1, wantFull: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &tc.d
			s, err := NewSource(d, OpenSearch, SourceConfig{DeviceInfoIndex: "di", NetworkEventsIndex: "ev"})
			if err != nil {
				t.Fatal(err)
			}
			rplans := []fieldPlan{{Fields: []string{"RemoteIP"}, Pushable: true, AllIP: true}}
			base, distinct, lower, err := s.measure(context.Background(), "ev", nil, []arrClause{{}}, rplans, need)
			if err != nil {
				t.Fatal(err)
			}
			if base != tc.wantBase || distinct != tc.wantDistinct || lower != tc.wantLower {
				t.Errorf("measure = %d, %d, lower %v; want %d, %d, lower %v", base, distinct, lower, tc.wantBase, tc.wantDistinct, tc.wantLower)
			}
			if d.counts != 1 || d.bounded != tc.wantBounded || d.full != tc.wantFull {
				t.Errorf("requests: %d counts, %d bounded, %d full; want 1, %d, %d", d.counts, d.bounded, d.full, tc.wantBounded, tc.wantFull)
			}
		})
	}
}
