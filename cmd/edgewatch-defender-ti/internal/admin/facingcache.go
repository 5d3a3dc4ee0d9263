package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// FacingCache keeps each scheduled detection's facing state: the latest
// DeviceInfo row per (DeviceId, port) of every row it has folded, up to a
// watermark. It lives in the state index (StateStore), so a restarted or
// second serve instance picks it up, and is mirrored in memory so that the
// long-lived plugin process does not read it back on every run.
//
// A run's facing step over [From, To) then reads only the DeviceInfo rows
// of [watermark − overlap, To) (the detection's overlap, as for events:
// rows indexed late, but within the overlap, are still folded), folds them
// in, moves the watermark to To and derives the facing set from the state:
// the pairs whose latest row is at or after From. That is the set a read of
// every row of [From, To) gives (the same latest row per pair, ties
// resolved by cluster.LaterRow), except for a row indexed more than the
// overlap after its time, which the state never sees (Rebuild bounds how
// long such a row can be missed).
//
// A window that ends before the watermark or starts before the state's
// first row (a retro-hunt, a backfill) is read directly and leaves the
// state alone; so does a run whose state cannot be read or written.
type FacingCache struct {
	// Rebuild, when positive, reads every row of the look-back again once
	// the state is that old. Zero never does.
	Rebuild time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger (default slog.Default()).
	Logger *slog.Logger

	mu      sync.Mutex
	entries map[string]*facingEntry
}

// FacingScope names the facing state a wrapped Source keeps.
type FacingScope struct {
	// Source identifies the DeviceInfo data (cluster, index, profile).
	Source string
	// Detection owns the state (its lease serialises the runs).
	Detection string
	// Overlap is re-read before the watermark on each run.
	Overlap time.Duration
}

// State documents: a head (facing-<key>) and facingBuckets row documents
// (facing-<key>-bNN). A run writes the buckets it changed, then the head
// with a compare-and-set; a bucket written for a later watermark than its
// head's (a run that died between the two) makes the state be rebuilt.
const (
	facingDocType    = "facing"
	facingRowsType   = "facing-rows"
	facingBuckets    = 32
	facingFormat     = 1
	facingKeepBehind = 24 * time.Hour
)

type facingHead struct {
	Type      string    `json:"type"`
	Format    int       `json:"format"`
	Detection string    `json:"detection"`
	Index     string    `json:"device_info_index,omitempty"`
	From      time.Time `json:"from"`
	Watermark time.Time `json:"watermark"`
	Built     time.Time `json:"built"`
	UpdatedAt time.Time `json:"updated_at"`
	Pairs     int       `json:"pairs"`
	Buckets   int       `json:"buckets"`
}

type facingBucket struct {
	Type   string     `json:"type"`
	Bucket int        `json:"bucket"`
	Upto   time.Time  `json:"upto"`
	Rows   []stateRow `json:"rows"`
}

// stateRow is a DeviceInfo row as the state keeps it.
type stateRow struct {
	T      time.Time                  `json:"t"`
	Device string                     `json:"d"`
	Name   string                     `json:"n,omitempty"`
	Facing bool                       `json:"f,omitempty"`
	IP     string                     `json:"ip,omitempty"`
	OS     string                     `json:"os,omitempty"`
	Group  string                     `json:"g,omitempty"`
	X      correlation.InternetFacing `json:"x"`
	Index  string                     `json:"s,omitempty"`
	DocID  string                     `json:"i,omitempty"`
	Line   int                        `json:"l,omitempty"`
}

func toStateRow(d *correlation.DeviceInfo) stateRow {
	return stateRow{T: d.Time, Device: d.DeviceID, Name: d.DeviceName, Facing: d.IsInternetFacing, IP: d.PublicIP,
		OS: d.OSPlatform, Group: d.MachineGroup, X: d.Facing, Index: d.Loc.Source, DocID: d.Loc.DocID, Line: d.Loc.Line}
}

func (r stateRow) row() correlation.DeviceInfo {
	return correlation.DeviceInfo{Time: r.T.UTC(), DeviceID: r.Device, DeviceName: r.Name, IsInternetFacing: r.Facing,
		PublicIP: r.IP, OSPlatform: r.OS, MachineGroup: r.Group, Facing: r.X,
		Loc: correlation.Location{Source: r.Index, DocID: r.DocID, Line: r.Line}}
}

// facingEntry is the memory mirror of one state.
type facingEntry struct {
	mu sync.Mutex
	st facingState
}

// facingState is what a facingEntry holds.
type facingState struct {
	id      string
	loaded  bool // head, rows and versions mirror the store
	head    facingHead
	version incremental.Version
	bucket  [facingBuckets]struct {
		version incremental.Version
		exists  bool
	}
	rows cluster.LatestRows
}

func (c *FacingCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *FacingCache) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// sourceKey identifies the DeviceInfo data a settings document reads.
func sourceKey(s wire.Settings) string {
	var b strings.Builder
	b.WriteString(s.Source)
	if cl := s.Cluster; cl != nil {
		b.WriteString("|" + strings.Join(cl.URLs, ",") + "|" + cl.Username + "|" + cl.DeviceInfoIndex + "|" + cl.Profile)
		keys := slices.Sorted(maps.Keys(cl.ProfileFields))
		for _, k := range keys {
			b.WriteString("|" + k + "=" + cl.ProfileFields[k])
		}
	}
	return b.String()
}

// facingStateID is the head document's id of a scope.
func facingStateID(scope FacingScope) string {
	h := sha256.Sum256([]byte(scope.Detection + "\x00" + scope.Source))
	return "facing-" + hex.EncodeToString(h[:8])
}

func bucketID(head string, b int) string { return fmt.Sprintf("%s-b%02d", head, b) }

func bucketOf(device string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(device))
	return int(h.Sum32() % facingBuckets)
}

// Wrap returns src with its facing step served from scope's state in
// store. A nil cache or store returns src unchanged.
func (c *FacingCache) Wrap(scope FacingScope, src connectors.Source, store incremental.StateStore) connectors.Source {
	if c == nil || store == nil {
		return src
	}
	id := facingStateID(scope)
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*facingEntry{}
	}
	e, ok := c.entries[id]
	if !ok {
		e = &facingEntry{st: facingState{id: id}}
		c.entries[id] = e
	}
	c.mu.Unlock()
	return &stateSource{Source: src, c: c, e: e, scope: scope, store: store}
}

type stateSource struct {
	connectors.Source
	c     *FacingCache
	e     *facingEntry
	scope FacingScope
	store incremental.StateStore
}

// EventPreparer passes through, so that wrapping does not hide it.
func (s *stateSource) PrepareEvents(ctx context.Context, q connectors.EventQuery) func() {
	if p, ok := s.Source.(connectors.EventPreparer); ok {
		return p.PrepareEvents(ctx, q)
	}
	return func() {}
}

func (s *stateSource) DeviceInfo(ctx context.Context, q connectors.FacingQuery, fn func(*correlation.DeviceInfo) error) (connectors.Report, error) {
	if q.From.IsZero() || q.To.IsZero() {
		return s.Source.DeviceInfo(ctx, q, fn)
	}
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	e := &s.e.st
	log := s.c.log().With("detection", s.scope.Detection, "state", e.id)
	if err := s.sync(ctx); err != nil {
		log.Warn("facing state unreadable; reading DeviceInfo directly", "err", err)
		e.loaded = false
		return s.Source.DeviceInfo(ctx, q, fn)
	}
	now := s.c.now()
	var rep connectors.Report
	dirty := map[int]bool{}
	switch {
	case !e.loaded || (s.c.Rebuild > 0 && now.Sub(e.head.Built) >= s.c.Rebuild):
		var rows cluster.LatestRows
		r, err := s.Source.DeviceInfo(ctx, q, func(d *correlation.DeviceInfo) error {
			rows.Add(d)
			return nil
		})
		if err != nil {
			e.loaded = false
			return r, err
		}
		rep = r
		e.rows = rows
		e.head = facingHead{From: q.From, Watermark: q.To, Built: now}
		for b := range facingBuckets {
			dirty[b] = true
		}
	case q.From.Before(e.head.From) || q.To.Before(e.head.Watermark):
		// Older than the state: read directly.
		return s.Source.DeviceInfo(ctx, q, fn)
	default:
		from := e.head.Watermark.Add(-s.scope.Overlap)
		if from.Before(e.head.From) {
			from = e.head.From
		}
		r, err := s.Source.DeviceInfo(ctx, connectors.FacingQuery{From: from, To: q.To, Progress: q.Progress}, func(d *correlation.DeviceInfo) error {
			if _, changed := e.rows.Offer(d); changed {
				dirty[bucketOf(d.DeviceID)] = true
			}
			return nil
		})
		if err != nil {
			// Rows may be half folded: the store still has the state as
			// it was.
			e.loaded = false
			return r, err
		}
		rep = r
		e.head.Watermark = q.To
	}
	// Windows move forward: pairs whose latest row is a day older than this
	// window's start cannot be in a later window's set.
	if cut := q.From.Add(-facingKeepBehind); cut.After(e.head.From) {
		var gone []cluster.PairKey
		for k, r := range e.rows.All() {
			if r.Time.Before(cut) {
				gone = append(gone, k)
			}
		}
		for _, k := range gone {
			e.rows.Delete(k)
			dirty[bucketOf(k.DeviceID)] = true
		}
		e.head.From = cut
	}
	if err := s.persist(ctx, now, dirty); err != nil {
		log.Warn("facing state not saved; the next run reads it again", "err", err)
		e.loaded = false
	}
	return s.emit(q, fn, rep)
}

// emit passes the state's rows in [q.From, q.To) to fn, oldest first.
func (s *stateSource) emit(q connectors.FacingQuery, fn func(*correlation.DeviceInfo) error, rep connectors.Report) (connectors.Report, error) {
	rep.Passed = 0
	for _, r := range s.e.st.rows.Sorted() {
		if r.Time.Before(q.From) || !r.Time.Before(q.To) {
			continue
		}
		rep.Passed++
		row := *r
		if err := fn(&row); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// errStateTorn: a bucket was written for a later watermark than its head.
var errStateTorn = errors.New("facing state torn: a bucket is newer than its head")

// sync brings the memory mirror up to the stored state: nothing to do when
// the head's version is the one in memory, a load of every bucket
// otherwise; no stored state (or a torn one) leaves it unloaded.
func (s *stateSource) sync(ctx context.Context) error {
	e := &s.e.st
	raw, v, err := s.store.Get(ctx, e.id)
	if errors.Is(err, incremental.ErrNotFound) {
		*e = facingState{id: e.id}
		return nil
	}
	if err != nil {
		return err
	}
	if e.loaded && v == e.version {
		return nil
	}
	var head facingHead
	if err := json.Unmarshal(raw, &head); err != nil || head.Format != facingFormat || head.Buckets != facingBuckets {
		// Not ours to read (another format): rebuild over it.
		*e = facingState{id: e.id, version: v}
		return nil
	}
	fresh := facingState{id: e.id, head: head, version: v}
	type got struct {
		b   int
		doc facingBucket
		v   incremental.Version
		ok  bool
		err error
	}
	results := make(chan got, facingBuckets)
	sem := make(chan struct{}, 8)
	for b := range facingBuckets {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			raw, v, err := s.store.Get(ctx, bucketID(e.id, b))
			g := got{b: b, v: v}
			switch {
			case errors.Is(err, incremental.ErrNotFound):
			case err != nil:
				g.err = err
			default:
				g.ok = true
				g.err = json.Unmarshal(raw, &g.doc)
			}
			results <- g
		}()
	}
	var firstErr error
	torn := false
	for range facingBuckets {
		g := <-results
		if g.err != nil && firstErr == nil {
			firstErr = g.err
		}
		if !g.ok || g.err != nil {
			continue
		}
		fresh.bucket[g.b].version, fresh.bucket[g.b].exists = g.v, true
		if g.doc.Upto.After(head.Watermark) {
			torn = true
		}
		for _, r := range g.doc.Rows {
			d := r.row()
			fresh.rows.Add(&d)
		}
	}
	if firstErr != nil {
		return fmt.Errorf("read facing state: %w", firstErr)
	}
	if torn {
		s.c.log().Warn("facing state rebuilt", "state", e.id, "reason", errStateTorn)
		// Keep the versions: the rebuild overwrites these documents.
		*e = facingState{id: e.id, version: v, bucket: fresh.bucket}
		return nil
	}
	fresh.loaded = true
	*e = fresh
	return nil
}

// persist writes the dirty buckets, then the head (compare-and-set).
func (s *stateSource) persist(ctx context.Context, now time.Time, dirty map[int]bool) error {
	e := &s.e.st
	byBucket := map[int][]stateRow{}
	for _, r := range e.rows.All() {
		b := bucketOf(r.DeviceID)
		if dirty[b] {
			byBucket[b] = append(byBucket[b], toStateRow(r))
		}
	}
	for b := range dirty {
		rows := byBucket[b]
		sort.Slice(rows, func(i, j int) bool {
			if rows[i].Device != rows[j].Device {
				return rows[i].Device < rows[j].Device
			}
			return rows[i].X.LocalPort < rows[j].X.LocalPort
		})
		if rows == nil {
			rows = []stateRow{}
		}
		if !e.bucket[b].exists && len(rows) == 0 {
			continue
		}
		doc, err := json.Marshal(facingBucket{Type: facingRowsType, Bucket: b, Upto: e.head.Watermark, Rows: rows})
		if err != nil {
			return err
		}
		var v incremental.Version
		if e.bucket[b].exists {
			v, err = s.store.Update(ctx, bucketID(e.id, b), doc, e.bucket[b].version)
		} else {
			v, err = s.store.Create(ctx, bucketID(e.id, b), doc)
		}
		if err != nil {
			return fmt.Errorf("write facing state bucket %d: %w", b, err)
		}
		e.bucket[b].version, e.bucket[b].exists = v, true
	}
	h := e.head
	h.Type, h.Format, h.Detection, h.Buckets = facingDocType, facingFormat, s.scope.Detection, facingBuckets
	h.UpdatedAt, h.Pairs = now.UTC(), e.rows.Len()
	doc, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var v incremental.Version
	if e.version == (incremental.Version{}) {
		v, err = s.store.Create(ctx, e.id, doc)
	} else {
		v, err = s.store.Update(ctx, e.id, doc, e.version)
	}
	if err != nil {
		return fmt.Errorf("write facing state: %w", err)
	}
	e.head, e.version, e.loaded = h, v, true
	return nil
}
