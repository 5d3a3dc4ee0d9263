package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/alertstore"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/elasticsearch"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// The one wiring of a detection to a cluster: engine.Run (`edgewatch run`)
// and every incremental operation (`edgewatch serve`) open their backend
// here, so that what a run reads, writes and records cannot differ with
// the way it was started.

// Connect opens a client to the cluster the settings name (source
// opensearch or elasticsearch, cluster.urls, the password or API key from
// the secrets).
func Connect(ctx context.Context, s wire.Settings, secrets map[string]string) (*cluster.Client, error) {
	if s.Cluster == nil || len(s.Cluster.URLs) == 0 {
		return nil, fmt.Errorf("%w: source %s needs a cluster URL (--url)", ErrConfig, s.Source)
	}
	c := s.Cluster
	cfg := cluster.Config{
		URLs:               c.URLs,
		Username:           c.Username,
		Password:           secrets[wire.SecretPassword],
		APIKey:             secrets[wire.SecretAPIKey],
		CAFile:             c.CAFile,
		InsecureSkipVerify: c.InsecureSkipVerify,
		Timeout:            time.Duration(c.Timeout),
	}
	switch s.Source {
	case wire.SourceOpenSearch:
		return opensearch.Connect(ctx, cfg)
	case wire.SourceElasticsearch:
		return elasticsearch.Connect(ctx, cfg)
	}
	return nil, fmt.Errorf("%w: source %q is not a cluster (want opensearch or elasticsearch)", ErrConfig, s.Source)
}

// ClusterBackend is a detection's backend over a connected cluster: it
// reads the settings' DeviceInfo and network event indices with their field
// profile, creates alerts through the detection's write alias
// (wire.Settings.AlertAliasOf; alertstore.Writer: bulk create, ids checked
// across its backing indices; with grouping, findings as evidence and
// grouped alerts in an alertstore.GroupStore), takes the indicators from
// the lookup index when the settings name a feed (else from the feed
// files) and records every run in the state index. With cluster.no_index
// it only reads: no alert alias, no run record (a grouping detection then
// groups in memory, as in file mode).
func ClusterBackend(c *cluster.Client, s wire.Settings) (*Backend, error) {
	cl := s.Cluster
	if cl == nil || cl.DeviceInfoIndex == "" || cl.NetworkEventsIndex == "" {
		return nil, fmt.Errorf("%w: source %s needs --device-info-index and --network-events-index", ErrConfig, s.Source)
	}
	src, err := cluster.NewClientSource(c, cluster.SourceConfig{
		DeviceInfoIndex:    cl.DeviceInfoIndex,
		NetworkEventsIndex: cl.NetworkEventsIndex,
		Profile:            cl.Profile,
		ProfileFields:      cl.ProfileFields,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	be := &Backend{Source: src}
	if !cl.NoIndex {
		alias := s.AlertAliasOf()
		be.Writer, be.AlertIndex = alertstore.NewWriter(c, alias, alertstore.Options{}), alias
		be.RecordRun = func(ctx context.Context, rec wire.RunRecord) error {
			_, err := stack.WriteRunRecord(ctx, c, rec)
			return err
		}
	}
	spec, err := groupSpec(s)
	if err != nil {
		return nil, err
	}
	findings := ""
	if spec.Enabled() && be.Writer != nil { // with no_index, grouped in memory
		_, rule, err := matchOptions(s)
		if err != nil {
			return nil, err
		}
		findings = wire.FindingsAlias(be.AlertIndex)
		be.Groups = alertstore.NewGroupStore(c, spec, rule.ID, be.AlertIndex, findings, alertstore.Options{})
	}
	if feed := cl.IndicatorFeed; feed != "" {
		be.Indicators = func(ctx context.Context) (*correlation.IndicatorSet, error) {
			set, err := stack.ReadIndicators(ctx, c, feed)
			if errors.Is(err, stack.ErrNoFeed) {
				return nil, fmt.Errorf("%w: --indicator-feed: %w", ErrConfig, err)
			}
			return set, err
		}
	}
	want := RunPrivileges(cl, be.AlertIndex, findings)
	var checked atomic.Bool // a passed check holds for the backend's life
	be.Preflight = func(ctx context.Context) error {
		if checked.Load() {
			return nil
		}
		if err := cluster.CheckPrivileges(ctx, c, want); err != nil {
			return err
		}
		checked.Store(true)
		return nil
	}
	return be, nil
}

// readError is the error of a failed read of table. A name that matches no
// index is the configuration's fault (ErrConfig: the run cannot work until
// the setting changes) and is said in one line naming the flag that set it.
func readError(table, flag string, err error) error {
	var mi *cluster.IndexMissingError
	if errors.As(err, &mi) {
		return fmt.Errorf("%w: %s: %w", ErrConfig, flag, mi)
	}
	return fmt.Errorf("read %s: %w", table, err)
}

// RunPrivileges are the index privileges a detection run over cl needs
// (Elasticsearch names; dashboards/security/elasticsearch-detector.json
// grants them): read on the Defender indices and the indicator feed; on
// the alert write alias alertIndex, read and view_index_metadata (the alias
// is resolved and each batch's ids are looked up across its backing
// indices), maintenance (the alias is refreshed at each run's start) and
// create_doc; read and write on the state index. A grouping detection
// (findings, its findings alias, not "") also needs index and delete on
// the alert alias (a grouped alert is rewritten with if_seq_no /
// if_primary_term, a copy left by two writers racing across a rollover is
// deleted) and read, view_index_metadata, maintenance and create_doc on its
// findings (the evidence is stored, refreshed and aggregated). A run with
// no_index (alertIndex "") writes nothing: the reads only.
func RunPrivileges(cl *wire.ClusterSettings, alertIndex, findings string) []cluster.IndexPrivileges {
	var read []string
	for _, p := range []string{cl.DeviceInfoIndex, cl.NetworkEventsIndex} {
		for _, n := range strings.Split(p, ",") {
			if n = strings.TrimSpace(n); n != "" && !slices.Contains(read, n) {
				read = append(read, n)
			}
		}
	}
	if cl.IndicatorFeed != "" {
		read = append(read, wire.FeedAlias(cl.IndicatorFeed))
	}
	privs := []cluster.IndexPrivileges{{Names: read, Privileges: []string{"read"}}}
	if alertIndex == "" { // cluster.no_index: the run writes nothing
		return privs
	}
	writeAlias := []string{"read", "view_index_metadata", "maintenance", "create_doc"}
	alerts := writeAlias
	if findings != "" {
		alerts = append(slices.Clone(writeAlias), "index", "delete")
	}
	privs = append(privs, cluster.IndexPrivileges{Names: []string{alertIndex}, Privileges: alerts})
	if findings != "" {
		privs = append(privs, cluster.IndexPrivileges{Names: []string{findings}, Privileges: writeAlias})
	}
	return append(privs, cluster.IndexPrivileges{Names: []string{wire.StateIndex}, Privileges: []string{"read", "write"}})
}

// RunRecordOf is the state index's record of one run with settings s: the
// detection (default "default"), what triggered it, whether it was a
// retro-hunt, its window, outcome and counts, and its lag behind the end
// of its window when it finished.
func RunRecordOf(s wire.Settings, sum *wire.Summary) wire.RunRecord {
	host, _ := os.Hostname()
	detection := s.Detection
	if detection == "" {
		detection = "default"
	}
	rec := wire.RunRecord{
		Detection:  detection,
		RunID:      sum.RunID,
		Trigger:    s.Trigger,
		RetroHunt:  s.RetroHunt,
		Window:     wire.Window{From: sum.Window.From, To: sum.Window.To},
		StartedAt:  sum.Started,
		FinishedAt: sum.Finished,
		DurationMS: sum.DurationMS,
		Outcome:    sum.Outcome,
		Error:      sum.Error,
		Host:       host,
		Counts: wire.RunCounts{
			Facing:               int64(sum.DeviceInfo.FacingPorts),
			Indicators:           int64(sum.Indicators.Loaded),
			EventsScanned:        sum.Events.Read,
			Matches:              int64(sum.Alerts.Matched),
			AlertsCreated:        int64(sum.Alerts.Created),
			AlertsAlreadyPresent: int64(sum.Alerts.AlreadyPresent),
			AlertsFailed:         int64(sum.Alerts.Failed),
			Skipped:              sum.Events.SkippedTotal() + sum.DeviceInfo.SkippedTotal() + sum.Alerts.SkippedTotal(),
		},
	}
	if g := sum.Groups; g != nil {
		rec.Counts.GroupsCreated, rec.Counts.GroupsUpdated = int64(g.Created), int64(g.Updated)
	}
	if !sum.Window.To.IsZero() {
		rec.LagMS = sum.Finished.Sub(sum.Window.To).Milliseconds()
	}
	return rec
}
