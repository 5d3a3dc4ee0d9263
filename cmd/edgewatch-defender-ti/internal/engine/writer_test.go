package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// memSource serves one internet-facing device (port 443) and the events it
// is given, each with its own raw record, as a connector would: the event
// and its raw bytes are valid only during the callback.
type memSource struct{ events []*correlation.NetworkEvent }

func (m *memSource) DeviceInfo(_ context.Context, _ connectors.FacingQuery, fn func(*correlation.DeviceInfo) error) (connectors.Report, error) {
	row := &correlation.DeviceInfo{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), DeviceID: "dev1", DeviceName: "web01",
		IsInternetFacing: true, Facing: correlation.InternetFacing{LocalPort: 443}}
	return connectors.Report{Read: 1, Passed: 1}, fn(row)
}

func (m *memSource) NetworkEvents(_ context.Context, _ connectors.EventQuery, fn func(*correlation.NetworkEvent) error) (connectors.Report, error) {
	for _, ev := range m.events {
		c := *ev
		c.Raw = append([]byte(nil), ev.Raw...) // a connector's buffer
		if err := fn(&c); err != nil {
			return connectors.Report{}, err
		}
		for i := range c.Raw { // ... reused for the next row
			c.Raw[i] = 'x'
		}
	}
	return connectors.Report{Read: int64(len(m.events)), Passed: int64(len(m.events))}, nil
}

func memEvent(i int, raw, commandLine string) *correlation.NetworkEvent {
	return &correlation.NetworkEvent{
		Time: time.Date(2026, 1, 2, 8, 0, i, 0, time.UTC), DeviceID: "dev1", DeviceName: "web01",
		ActionType: correlation.ActionInboundAccepted, RemoteIP: netip.MustParseAddr("45.155.205.233"),
		RemotePort: 50000 + i, LocalIP: netip.MustParseAddr("10.0.0.5"), LocalPort: 443, Protocol: "Tcp",
		ReportID: fmt.Sprint(i), Process: correlation.Process{FileName: "nginx", CommandLine: commandLine},
		Raw: json.RawMessage(raw), Loc: correlation.Location{Source: "events.ndjson", Line: i + 1},
	}
}

func feedFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "feed.txt")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAlertTooLarge: an alert whose document would exceed
// wire.MaxAlertBytes (a row with a huge field, in the raw record or in a
// decoded field) is counted with its location and written nowhere; every
// other alert is, in batches bounded in bytes; each document is the alert
// as it was when its raw record was valid.
func TestAlertTooLarge(t *testing.T) {
	huge := strings.Repeat("A", wire.MaxAlertBytes+1)
	big := strings.Repeat("b", 700<<10) // 700 KiB: several per batch
	var events []*correlation.NetworkEvent
	for i := range 20 {
		events = append(events, memEvent(i, fmt.Sprintf(`{"ReportId":%d,"pad":%q}`, i, big), "nginx -g daemon"))
	}
	events[3] = memEvent(3, `{"ReportId":3,"f":"`+huge+`"}`, "x")           // the raw record alone is too large
	events[11] = memEvent(11, `{"ReportId":11}`, huge[:wire.MaxAlertBytes]) // the decoded field and the rest
	s := wire.Settings{Feeds: []string{feedFile(t, "45.155.205.233\n")}}
	var obs collect
	sum, err := RunWith(context.Background(), s, &Backend{Source: &memSource{events}}, &obs, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Alerts.Matched != 20 || len(obs.alerts) != 18 || len(obs.docs) != 18 {
		t.Fatalf("matched %d, written %d (%d documents): want 20 matched, 18 written", sum.Alerts.Matched, len(obs.alerts), len(obs.docs))
	}
	want := map[string]int64{wire.SkipAlertTooLarge: 2}
	if fmt.Sprint(sum.Alerts.Skipped) != fmt.Sprint(want) {
		t.Errorf("skipped %v, want %v", sum.Alerts.Skipped, want)
	}
	if ex := sum.Alerts.Examples[wire.SkipAlertTooLarge]; len(ex) != 2 || ex[0].String() != "events.ndjson:4" || ex[1].String() != "events.ndjson:12" {
		t.Errorf("examples %v, want events.ndjson:4 and :12", ex)
	}
	for i, doc := range obs.docs {
		var d struct {
			Event    struct{ ID string }
			Defender struct {
				NetworkEvent struct {
					ReportID int    `json:"ReportId"`
					Pad      string `json:"pad"`
				} `json:"network_event"`
			}
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if d.Event.ID != obs.alerts[i].Event.ID || d.Defender.NetworkEvent.Pad != big {
			t.Errorf("document %d (ReportId %d) is not its alert as read", i, d.Defender.NetworkEvent.ReportID)
		}
	}
	if len(obs.batches) < 3 {
		t.Errorf("%d batches for 12 MiB of documents, want them bounded by %d bytes", len(obs.batches), wire.AlertBatchBytes)
	}
	for _, b := range obs.batches {
		if len(b.NDJSON) > wire.AlertBatchBytes+len(big)+4096 {
			t.Errorf("a batch of %d bytes, over %d and one document", len(b.NDJSON), wire.AlertBatchBytes)
		}
	}
}

// TestEmptyFeed: a run whose feeds yield no indicator fails as an input
// error that says why, unless allow_empty_feed.
func TestEmptyFeed(t *testing.T) {
	tests := map[string]struct {
		feed string
		want []string
	}{
		"empty file":     {feed: "", want: []string{"feed.txt: 0 lines"}},
		"garbage":        {feed: "not-an-ip\nnor this\n", want: []string{"2 invalid (first at line 1)"}},
		"private only":   {feed: "# internal\n10.0.0.1\n192.168.1.0/24\n", want: []string{"2 dropped as not global", "1 comments"}},
		"below level":    {feed: "45.155.205.233\t1\n", want: []string{"1 below the minimum level"}},
		"comments alone": {feed: "# a\n# b\n", want: []string{"2 comments"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := wire.Settings{Feeds: []string{feedFile(t, tc.feed)}, MinLevel: 3}
			be := &Backend{Source: &memSource{[]*correlation.NetworkEvent{memEvent(0, `{}`, "")}}}
			_, err := RunWith(context.Background(), s, be, nil, fixedNow)
			if !errors.Is(err, ErrEmptyFeed) || !errors.Is(err, wire.ErrInput) {
				t.Fatalf("error %v, want ErrEmptyFeed, an input error", err)
			}
			for _, w := range append(tc.want, "could not alert on anything", "allow-empty-feed") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			s.AllowEmptyFeed = true
			sum, err := RunWith(context.Background(), s, be, nil, fixedNow)
			if err != nil || sum.Indicators.Loaded != 0 || sum.Alerts.Matched != 0 {
				t.Errorf("allow_empty_feed: %v, summary %+v", err, sum.Alerts)
			}
		})
	}
}

// failingSource fails the event step with err.
type failingSource struct {
	memSource
	err error
}

func (f *failingSource) NetworkEvents(context.Context, connectors.EventQuery, func(*correlation.NetworkEvent) error) (connectors.Report, error) {
	return connectors.Report{}, f.err
}

// TestRunErrorKinds: a run's error is an input error (wire.ErrInput) when
// the operator's input caused it, a run failure otherwise.
func TestRunErrorKinds(t *testing.T) {
	tests := map[string]struct {
		err   error
		input bool
	}{
		"truncated gzip":  {fmt.Errorf("events.ndjson.gz: %w: gzip data truncated at compressed byte 812", connectors.ErrInput), true},
		"unreadable file": {&fs.PathError{Op: "read", Path: "events.ndjson", Err: syscall.EISDIR}, true},
		"missing index": {&cluster.Error{Op: "open point in time", Status: 404, Type: "index_not_found_exception",
			Reason: "no such index [nope]", Downstream: true}, true},
		"missing index, bare 404": {&cluster.Error{Op: "read mapping of nope", Status: 404, Reason: "{}", Downstream: true}, true},
		"no live feed":            {fmt.Errorf("load indicators from x: %w", stack.ErrNoFeed), true},
		"bad CA file":             {cluster.ConfigErrorf("ca file: no certificates"), true},
		"unauthorized":            {&cluster.Error{Op: "search", Status: 401, Type: "security_exception", Downstream: true}, false},
		"cluster down":            {&cluster.Error{Op: "open point in time", Err: syscall.ECONNREFUSED, Downstream: true, Retryable: true}, false},
		"cluster 500":             {&cluster.Error{Op: "search", Status: 500, Type: "exception", Downstream: true}, false},
		"ours":                    {errors.New("boom"), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := wire.Settings{Feeds: []string{feedFile(t, "45.155.205.233\n")}}
			_, err := RunWith(context.Background(), s, &Backend{Source: &failingSource{err: tc.err}}, nil, fixedNow)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v does not wrap %v", err, tc.err)
			}
			if got := errors.Is(err, wire.ErrInput); got != tc.input {
				t.Errorf("errors.Is(%v, wire.ErrInput) = %v, want %v", err, got, tc.input)
			}
		})
	}
}
