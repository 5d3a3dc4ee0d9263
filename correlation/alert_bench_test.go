package correlation

import (
	"encoding/json"
	"net/netip"
	"testing"
)

// BenchmarkAlert measures producing one alert document: NewAlert plus
// encoding, with encoding/json (what the detector and the bulk writer used
// before AppendJSON) and with AppendJSON into a reused buffer (what they use
// now); and the parts alone. Compare runs with benchstat.
func BenchmarkAlert(b *testing.B) {
	ev := goldenEvent()
	m := Match{Facing: goldenFacing(), Remote: goldenRemote, Indicator: Indicator{Prefix: netip.PrefixFrom(goldenRemote, 32), Count: 3, Level: 3, Feed: "ipsum"}}
	rule := DefaultRule()
	perAlert := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N), "µs/alert")
	}
	b.Run("newalert+json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a := NewAlert(ev, m, rule, alertCreated)
			if _, err := json.Marshal(a); err != nil {
				b.Fatal(err)
			}
		}
		perAlert(b)
	})
	b.Run("newalert+append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			a := NewAlert(ev, m, rule, alertCreated)
			buf = a.AppendJSON(buf[:0])
		}
		perAlert(b)
	})
	b.Run("newalert", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = NewAlert(ev, m, rule, alertCreated)
		}
	})
	a := NewAlert(ev, m, rule, alertCreated)
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(a); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = a.AppendJSON(buf[:0])
		}
	})
	b.Run("findingid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = FindingID(rule.ID, ev.DeviceID, ev.ReportID, ev.Time, goldenRemote, ev.LocalPort)
		}
	})
}
