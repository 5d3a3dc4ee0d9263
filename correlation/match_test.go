package correlation

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func event(device string, port int, remote string) *NetworkEvent {
	ev := &NetworkEvent{
		Time:        t0.Add(time.Hour),
		DeviceID:    device,
		DeviceName:  device + ".contoso.com",
		ActionType:  ActionInboundAccepted,
		RemoteIPRaw: remote,
		RemotePort:  50123,
		LocalPort:   port,
		Protocol:    "Tcp",
		ReportID:    "1234",
	}
	ev.RemoteIP, _ = netip.ParseAddr(remote)
	return ev
}

func TestMatcher(t *testing.T) {
	var b FacingBuilder
	b.Add(row("d1", 0, 3389, true, "rdp"))
	b.Add(row("d1", 0, 25, true, "smtp"))
	b.Add(row("d1", 0, 22, true, "ssh"))
	b.Add(row("d1", 10, 22, false, "ssh closed")) // stopped facing
	b.Add(row("d2", 0, 443, true, "https"))
	facing := b.Build()
	set := mustSet(t, false,
		ind("77.90.185.20", 10, 8),
		ind("185.220.101.0/24", 0, 4),
		ind("2a00:1450::/32", 0, 3),
		ind("193.0.0.1", 2, 2),
	)
	m := NewMatcher(facing, set, MatchOptions{
		ExcludePorts: []int{25},
		Allow:        []netip.Prefix{netip.MustParsePrefix("193.0.0.0/24"), netip.MustParsePrefix("::ffff:198.0.0.0/104")},
	})

	with := func(ev *NetworkEvent, f func(*NetworkEvent)) *NetworkEvent { f(ev); return ev }
	tests := []struct {
		name       string
		ev         *NetworkEvent
		wantReason string // "" = match
		wantInd    string
	}{
		{"match exact indicator", event("d1", 3389, "77.90.185.20"), "", "77.90.185.20"},
		{"match IPv4-mapped remote", event("d1", 3389, "::ffff:77.90.185.20"), "", "77.90.185.20"},
		{"match CIDR indicator", event("d1", 3389, "185.220.101.33"), "", "185.220.101.0/24"},
		{"match IPv6 CIDR indicator", event("d2", 443, "2a00:1450:4001::1"), "", "2a00:1450::/32"},
		{"lower-cased action (Elastic)", with(event("d1", 3389, "77.90.185.20"), func(e *NetworkEvent) { e.ActionType = "inboundconnectionaccepted" }), "", "77.90.185.20"},
		{"remote only in RemoteIPRaw", with(event("d1", 3389, "77.90.185.20"), func(e *NetworkEvent) { e.RemoteIP = netip.Addr{}; e.RemoteIPRaw = " 77.90.185.20 " }), "", "77.90.185.20"},
		{"other action", with(event("d1", 3389, "77.90.185.20"), func(e *NetworkEvent) { e.ActionType = "ConnectionSuccess" }), MissAction, ""},
		{"empty action", with(event("d1", 3389, "77.90.185.20"), func(e *NetworkEvent) { e.ActionType = "" }), MissAction, ""},
		{"port not facing on this device", event("d1", 443, "77.90.185.20"), MissDevicePort, ""},
		{"port facing on another device only", event("d2", 3389, "77.90.185.20"), MissDevicePort, ""},
		{"port that stopped facing", event("d1", 22, "77.90.185.20"), MissDevicePort, ""},
		{"unknown device", event("d9", 3389, "77.90.185.20"), MissDevicePort, ""},
		{"missing local port", event("d1", NoPort, "77.90.185.20"), MissBadPort, ""},
		{"local port out of range", event("d1", 70000, "77.90.185.20"), MissBadPort, ""},
		{"bad remote", event("d1", 3389, "not-an-ip"), MissBadRemoteIP, ""},
		{"no remote", event("d1", 3389, ""), MissBadRemoteIP, ""},
		{"remote not an indicator", event("d1", 3389, "8.8.8.8"), MissNotIndicator, ""},
		{"excluded port (SMTP)", event("d1", 25, "77.90.185.20"), MissExcludedPort, ""},
		{"excluded port but not an indicator", event("d1", 25, "8.8.8.8"), MissNotIndicator, ""},
		{"allowlisted remote", event("d1", 3389, "193.0.0.1"), MissAllowedRemote, ""},
		{"nil event", nil, MissAction, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, ok := m.Match(tt.ev)
			if tt.wantReason != "" {
				if ok || reason != tt.wantReason {
					t.Fatalf("Match = %+v, %q, %v; want miss %q", got, reason, ok, tt.wantReason)
				}
				if !slices.Contains(MissReasons, reason) {
					t.Fatalf("reason %q not in MissReasons", reason)
				}
				return
			}
			if !ok || reason != "" {
				t.Fatalf("Match missed: %q", reason)
			}
			if got.Indicator.Value() != tt.wantInd {
				t.Errorf("indicator %s, want %s", got.Indicator.Value(), tt.wantInd)
			}
			if got.Remote.Is4In6() || got.Remote.Zone() != "" {
				t.Errorf("remote %v not normalised", got.Remote)
			}
			if got.Facing == nil || got.Facing.DeviceID != tt.ev.DeviceID || got.Facing.Port != tt.ev.LocalPort {
				t.Errorf("facing %+v does not match the event", got.Facing)
			}
		})
	}
}

func TestIsInboundAccepted(t *testing.T) {
	for in, want := range map[string]bool{
		"InboundConnectionAccepted": true, "inboundconnectionaccepted": true, "INBOUNDCONNECTIONACCEPTED": true,
		"InboundConnectionAccepted ": false, "ConnectionSuccess": false, "": false,
	} {
		if got := IsInboundAccepted(in); got != want {
			t.Errorf("IsInboundAccepted(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestMatchAgainstNaiveReference compares the Matcher with a second, naive
// implementation written straight from the seed query (arg_max by a full
// scan, inner join, filters), over random data with duplicates, ties,
// heartbeats, stopped ports, mapped remotes and non-matching actions.
func TestMatchAgainstNaiveReference(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 1))
	devices := []string{"d1", "d2", "d3", "d4"}
	ports := []int{22, 25, 80, 443, 3389}
	remotes := []string{"77.90.185.20", "77.90.185.21", "185.220.101.7", "8.8.8.8", "1.1.1.1", "2a00:1450::1", "2a01::1"}
	indicatorList := []string{"77.90.185.20", "185.220.101.0/24", "2a00:1450::/32", "1.1.1.1"}
	exclude := 25

	matched, total := 0, 0
	for round := range 50 {
		var rows []*DeviceInfo
		for range 40 {
			port := ports[r.IntN(len(ports))]
			if r.IntN(5) == 0 {
				port = NoPort // heartbeat
			}
			rw := row(devices[r.IntN(len(devices))], r.IntN(6), port, r.IntN(3) > 0, fmt.Sprint(r.IntN(1000)))
			rows = append(rows, rw)
			if r.IntN(6) == 0 {
				cp := *rw
				rows = append(rows, &cp) // duplicate row
			}
		}
		var events []*NetworkEvent
		for range 200 {
			rem := remotes[r.IntN(len(remotes))]
			if r.IntN(4) == 0 && !strings.Contains(rem, ":") {
				rem = "::ffff:" + rem
			}
			ev := event(devices[r.IntN(len(devices))], ports[r.IntN(len(ports))], rem)
			if r.IntN(5) == 0 {
				ev.ActionType = "ConnectionSuccess"
			}
			events = append(events, ev)
		}

		var b FacingBuilder
		for _, rw := range rows {
			b.Add(rw)
		}
		set := NewIndicatorSet("")
		for _, s := range indicatorList {
			set.Add(ind(s, 5, 5), false)
		}
		m := NewMatcher(b.Build(), set, MatchOptions{ExcludePorts: []int{exclude}})
		var got []int
		for i, ev := range events {
			if _, _, ok := m.Match(ev); ok {
				got = append(got, i)
			}
		}

		want := naiveMatch(rows, events, indicatorList, exclude)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: matcher %v, reference %v", round, got, want)
		}
		matched, total = matched+len(got), total+len(events)
	}
	// The data must exercise both outcomes, or the comparison proves nothing.
	if matched < total/50 || matched > total/2 {
		t.Fatalf("%d of %d events matched: the generator is off", matched, total)
	}
	t.Logf("%d of %d events matched", matched, total)
}

// naiveMatch is the seed query, literally: arg_max(Timestamp) per (DeviceId,
// port) where the later row wins ties, keep IsInternetFacing, inner join on
// DeviceId, LocalPort == port, RemoteIP in the list (by text, after stripping
// ::ffff:), and the SMTP-style exclusion.
func naiveMatch(rows []*DeviceInfo, events []*NetworkEvent, indicatorList []string, exclude int) []int {
	type pair struct {
		dev  string
		port int
	}
	latest := map[pair]*DeviceInfo{}
	for _, rw := range rows {
		if rw.Facing.LocalPort == NoPort {
			continue
		}
		k := pair{rw.DeviceID, rw.Facing.LocalPort}
		if cur, ok := latest[k]; !ok || !rw.Time.Before(cur.Time) {
			latest[k] = rw
		}
	}
	inList := func(ip string) bool {
		ip = strings.TrimPrefix(ip, "::ffff:")
		a := netip.MustParseAddr(ip)
		for _, s := range indicatorList {
			if p, err := netip.ParsePrefix(s); err == nil && p.Contains(a) || s == ip {
				return true
			}
		}
		return false
	}
	var out []int
	for i, ev := range events {
		if ev.ActionType != "InboundConnectionAccepted" {
			continue
		}
		for k, rw := range latest {
			if rw.IsInternetFacing && k.dev == ev.DeviceID && ev.LocalPort == k.port && inList(ev.RemoteIPRaw) && ev.LocalPort != exclude {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// BenchmarkMatch runs the matcher over a mix of events against 1,000 devices
// with three facing ports each and the full level-1 list: most events miss on
// the action or the facing pair, as in real traffic.
func BenchmarkMatch(b *testing.B) {
	set := level1Set(b)
	var hits []string
	for i := range set.All() {
		hits = append(hits, i.Prefix.Addr().String())
		if len(hits) == 1000 {
			break
		}
	}
	var fb FacingBuilder
	for d := range 1000 {
		for _, p := range []int{22, 443, 3389} {
			fb.Add(row(fmt.Sprintf("dev%04d", d), 0, p, true, "x"))
		}
	}
	m := NewMatcher(fb.Build(), set, MatchOptions{ExcludePorts: []int{25}})
	r := rand.New(rand.NewPCG(3, 4))
	events := make([]*NetworkEvent, 8192)
	for i := range events {
		remote := fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(220), r.IntN(256), r.IntN(256), 1+r.IntN(254))
		if r.IntN(10) == 0 {
			remote = hits[r.IntN(len(hits))]
		}
		ev := event(fmt.Sprintf("dev%04d", r.IntN(1200)), []int{22, 80, 443, 3389, 50000}[r.IntN(5)], remote)
		if r.IntN(3) == 0 {
			ev.ActionType = "ConnectionSuccess"
		}
		events[i] = ev
	}
	b.ReportAllocs()
	b.ResetTimer()
	matched := 0
	for i := 0; b.Loop(); i++ {
		if _, _, ok := m.Match(events[i%len(events)]); ok {
			matched++
		}
	}
	if matched == 0 {
		b.Fatal("no matches")
	}
}
