package file

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
)

func netipString(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	return a.String()
}

// writeTemp writes content to name in a fresh temp dir and returns the path.
func writeTemp(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lines joins rows into an NDJSON document.
func lines(rows ...string) []byte {
	return []byte(strings.Join(rows, "\n") + "\n")
}

// readEvents reads every event of paths with q, copying what fn may not keep.
func readEvents(t testing.TB, opts Options, q connectors.EventQuery) ([]correlation.NetworkEvent, connectors.Report) {
	t.Helper()
	evs, rep, err := readEventsErr(opts, q)
	if err != nil {
		t.Fatalf("NetworkEvents: %v", err)
	}
	return evs, rep
}

func readEventsErr(opts Options, q connectors.EventQuery) ([]correlation.NetworkEvent, connectors.Report, error) {
	var evs []correlation.NetworkEvent
	rep, err := New(opts).NetworkEvents(context.Background(), q, func(ev *correlation.NetworkEvent) error {
		c := *ev
		c.Raw = bytes.Clone(ev.Raw)
		evs = append(evs, c)
		return nil
	})
	return evs, rep, err
}

func readDevices(t testing.TB, opts Options, q connectors.FacingQuery) ([]correlation.DeviceInfo, connectors.Report) {
	t.Helper()
	var out []correlation.DeviceInfo
	rep, err := New(opts).DeviceInfo(context.Background(), q, func(di *correlation.DeviceInfo) error {
		out = append(out, *di)
		return nil
	})
	if err != nil {
		t.Fatalf("DeviceInfo: %v", err)
	}
	return out, rep
}

// evSummary is a one-line view of an event for comparisons.
func evSummary(ev *correlation.NetworkEvent) string {
	addr := "-"
	if ev.RemoteIP.IsValid() {
		addr = ev.RemoteIP.String()
	}
	return fmt.Sprintf("L%d %s %s %s(%s) %d>%d %s", ev.Loc.Line, ev.DeviceID, ev.ActionType, ev.RemoteIPRaw, addr,
		ev.RemotePort, ev.LocalPort, ev.Time.Format(time.RFC3339Nano))
}

func evSummaries(evs []correlation.NetworkEvent) []string {
	var out []string
	for i := range evs {
		out = append(out, evSummary(&evs[i]))
	}
	return out
}

func diSummary(di *correlation.DeviceInfo) string {
	return fmt.Sprintf("L%d %s facing=%v port=%d reason=%s scanned=%s:%d %s", di.Loc.Line, di.DeviceID, di.IsInternetFacing,
		di.Facing.LocalPort, di.Facing.Reason, di.Facing.PublicScannedIP, di.Facing.PublicScannedPort, di.Time.Format(time.RFC3339Nano))
}

// skips renders a Report's skip reasons with their example lines, sorted:
// "bad JSON@3,7".
func skips(rep connectors.Report) []string {
	var out []string
	for reason, n := range rep.Skipped {
		var ls []string
		for _, l := range rep.Examples[reason] {
			ls = append(ls, fmt.Sprint(l.Line))
		}
		s := reason + "@" + strings.Join(ls, ",")
		if int(n) > len(ls) {
			s += fmt.Sprintf("+%d", int(n)-len(ls))
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// facingSet builds a FacingSet of the given device -> ports.
func facingSet(pairs map[string][]int) *correlation.FacingSet {
	var b correlation.FacingBuilder
	for dev, ports := range pairs {
		for _, p := range ports {
			b.Add(&correlation.DeviceInfo{DeviceID: dev, IsInternetFacing: true, Time: time.Unix(1, 0),
				Facing: correlation.InternetFacing{LocalPort: p}})
		}
	}
	return b.Build()
}

func indicatorSet(t testing.TB, addrs ...string) *correlation.IndicatorSet {
	t.Helper()
	s := correlation.NewIndicatorSet("test")
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			p = netip.PrefixFrom(netip.MustParseAddr(a), netip.MustParseAddr(a).BitLen())
		}
		if ok, why := s.Add(correlation.Indicator{Prefix: p, Level: 1}, false); !ok {
			t.Fatalf("add %s: %s", a, why)
		}
	}
	return s
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
