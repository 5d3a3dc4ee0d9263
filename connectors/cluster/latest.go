package cluster

import (
	"cmp"
	"iter"
	"slices"

	"github.com/edgewatch/edgewatch/correlation"
)

// LaterRow reports whether DeviceInfo row a is later than b in the order
// the cluster facing step keeps the latest row by: the row's time, then its
// index name, then its document id. The first key is the seed's
// arg_max(Timestamp); the other two make ties (the same DeviceId, port and
// time) come out the same whichever way the rows were read, in one pass or
// folded run after run (the scheduled facing state).
func LaterRow(a, b *correlation.DeviceInfo) bool { return compareRows(a, b) > 0 }

// compareRows orders rows as LaterRow does: +1 when a is later than b, -1
// when it is earlier, 0 for the same time, index and document.
func compareRows(a, b *correlation.DeviceInfo) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Loc.Source, b.Loc.Source); c != 0 {
		return c
	}
	return cmp.Compare(a.Loc.DocID, b.Loc.DocID)
}

// PairKey is a (DeviceId, internet-facing port) pair.
type PairKey struct {
	DeviceID string
	Port     int
}

// LatestRows keeps the latest DeviceInfo row (LaterRow) per (DeviceId,
// port). Adding the same row twice, or rows in any order, gives the same
// result. The zero value is ready to use.
type LatestRows struct {
	rows map[PairKey]*correlation.DeviceInfo
}

// Add offers a copy of row; rows without a DeviceId or a facing port are
// not kept (Add reports false).
func (l *LatestRows) Add(row *correlation.DeviceInfo) bool {
	pair, _ := l.Offer(row)
	return pair
}

// Offer is Add, and also reports whether the row replaced the pair's latest
// row (or was its first).
func (l *LatestRows) Offer(row *correlation.DeviceInfo) (pair, changed bool) {
	if row.DeviceID == "" || !row.Facing.HasPort() {
		return false, false
	}
	k := PairKey{row.DeviceID, row.Facing.LocalPort}
	if l.rows == nil {
		l.rows = map[PairKey]*correlation.DeviceInfo{}
	}
	if cur, ok := l.rows[k]; ok {
		if LaterRow(row, cur) {
			*cur = *row
			return true, true
		}
		return true, false
	}
	c := *row
	l.rows[k] = &c
	return true, true
}

// All iterates the kept rows in no particular order; the rows are shared.
func (l *LatestRows) All() iter.Seq2[PairKey, *correlation.DeviceInfo] {
	return func(yield func(PairKey, *correlation.DeviceInfo) bool) {
		for k, r := range l.rows {
			if !yield(k, r) {
				return
			}
		}
	}
}

// Len is the number of pairs kept.
func (l *LatestRows) Len() int { return len(l.rows) }

// Get returns the latest row of a pair.
func (l *LatestRows) Get(k PairKey) (*correlation.DeviceInfo, bool) {
	r, ok := l.rows[k]
	return r, ok
}

// Delete forgets a pair.
func (l *LatestRows) Delete(k PairKey) { delete(l.rows, k) }

// Sorted returns the kept rows, oldest first (LaterRow order): fed to a
// correlation.FacingBuilder in this order they give the same facing set as
// the rows they were folded from.
func (l *LatestRows) Sorted() []*correlation.DeviceInfo {
	out := make([]*correlation.DeviceInfo, 0, len(l.rows))
	for _, r := range l.rows {
		out = append(out, r)
	}
	slices.SortFunc(out, compareRows)
	return out
}
