package faults

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/benchcluster"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/internal/gen"
)

// Dataset is a generated fleet (internal/gen) whose network events come in
// batches: the DeviceInfo rows and the feed are written once, the events
// of each batch are appended to one NDJSON file and indexed, with the same
// bytes, into the cluster. The file-mode Reference over the files is then
// what a run over the cluster must find.
type Dataset struct {
	Dir     string // the NDJSON files
	Seed    uint64
	Devices int // default 60
	// Shares (internal/gen defaults when zero): chosen for many findings
	// from few events.
	FacingShare, InboundShare, FeedHitShare float64
}

// The dataset's files in Dir.
const (
	DeviceInfoFile    = "device_info.ndjson"
	NetworkEventsFile = "network_events.ndjson"
	FeedFile          = "feed.txt"
)

// Path is the file name's path in Dir.
func (d Dataset) Path(name string) string { return filepath.Join(d.Dir, name) }

func (d Dataset) config(start time.Time, span time.Duration, events int) gen.Config {
	devices := d.Devices
	if devices <= 0 {
		devices = 60
	}
	return gen.Config{
		Devices: devices, Events: events, Seed: d.Seed, Start: start, Span: span,
		DeviceInfoRows: 3 * devices,
		FacingShare:    d.FacingShare, InboundShare: d.InboundShare, FeedHitShare: d.FeedHitShare,
	}
}

// WriteFleet writes the feed and the DeviceInfo rows, all of them
// (internet-facing changes included) between three days and one hour
// before settled: a detection window after settled sees the same facing
// ports whatever its bounds, as the single file-mode run does.
func (d Dataset) WriteFleet(settled time.Time) (rows [][]byte, err error) {
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		return nil, err
	}
	// gen writes DeviceInfo over [Start−3d, Start+Span).
	w, err := gen.NewWorld(d.config(settled.Add(-2*time.Hour), time.Hour, 0))
	if err != nil {
		return nil, err
	}
	var feed bytes.Buffer
	if err := w.WriteFeed(&feed); err != nil {
		return nil, err
	}
	if err := os.WriteFile(d.Path(FeedFile), feed.Bytes(), 0o644); err != nil {
		return nil, err
	}
	var di bytes.Buffer
	if _, err := w.WriteDeviceInfo(&di); err != nil {
		return nil, err
	}
	if err := os.WriteFile(d.Path(DeviceInfoFile), di.Bytes(), 0o644); err != nil {
		return nil, err
	}
	return lines(di.Bytes()), nil
}

// Events generates n network events over [start, start+span) for the
// fleet of WriteFleet (a batch with another start has other times, hence
// other findings). Nothing is written: Append adds them to the events
// file once they are in the cluster too.
func (d Dataset) Events(start time.Time, span time.Duration, n int) ([][]byte, error) {
	w, err := gen.NewWorld(d.config(start, span, n))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := w.WriteNetworkEvents(&b); err != nil {
		return nil, err
	}
	return lines(b.Bytes()), nil
}

// Append adds rows to the events file.
func (d Dataset) Append(rows [][]byte) error {
	f, err := os.OpenFile(d.Path(NetworkEventsFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, r := range rows {
		w.Write(r)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func lines(b []byte) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, bytes.Clone(l))
		}
	}
	return out
}

// The dataset's index mappings: the benchmark's (the columns the detection
// queries, typed as an operator would type them; the rest in _source only).
var (
	DeviceInfoMapping    = benchcluster.DeviceInfoMapping
	NetworkEventsMapping = benchcluster.NetworkEventsMapping
)

// CreateIndex creates index with shards primaries, replicas copies of each
// and mapping.
func CreateIndex(ctx context.Context, c *cluster.Client, index string, shards, replicas int, mapping map[string]any) error {
	body := map[string]any{
		"settings": map[string]any{"number_of_shards": shards, "number_of_replicas": replicas},
		"mappings": mapping,
	}
	return c.Call(ctx, "create "+index, cluster.Request{Method: http.MethodPut, Path: cluster.DocPath(index), Body: cluster.JSON(body)}, nil)
}

// Index writes rows into index under the ids "<idPrefix>-<n>" (a retried
// batch never indexes a row twice) and returns once every row is durable;
// a row the cluster refused for good is an error. refresh makes them
// searchable at once.
func Index(ctx context.Context, c *cluster.Client, index, idPrefix string, rows [][]byte, refresh bool) error {
	docs := make([]cluster.Doc, len(rows))
	for i, r := range rows {
		docs[i] = cluster.Doc{ID: fmt.Sprintf("%s-%d", idPrefix, i), Source: r}
	}
	opts := cluster.BulkOptions{}
	if refresh {
		opts.Refresh = "true"
	}
	res, err := c.BulkCreate(ctx, index, docs, opts)
	if err != nil {
		return fmt.Errorf("index %d rows into %s (%d created, %d present): %w", len(rows), index, res.Created, res.AlreadyPresent, err)
	}
	return nil
}
