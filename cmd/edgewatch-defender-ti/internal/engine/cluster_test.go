package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// TestClusterInputErrors: a name the settings give that matches nothing
// on the cluster is a configuration error (ErrConfig) said in one line
// with the flag that named it; any other cluster failure is not. The
// answers are what OpenSearch 2.19 and Elasticsearch 8.19 send (a bare
// "404 {}" for a field-mapping read of a missing index with
// ignore_unavailable, a 404 for an alias that does not exist); the same
// runs against the real servers in cmd/edgewatch-defender-ti
// (TestMissingInputIsOneLine).
func TestClusterInputErrors(t *testing.T) {
	cases := map[string]struct {
		settings   func(*wire.ClusterSettings)
		mapping    int // status of the DeviceInfo mapping read
		wantConfig bool
		wantIs     error
		want       []string
	}{
		"device info index missing": {
			mapping: 404, wantConfig: true, wantIs: cluster.ErrNotFound,
			want: []string{"--device-info-index", "no index, alias or data stream named di-x"},
		},
		"device info pattern matching nothing": {
			settings: func(c *wire.ClusterSettings) { c.DeviceInfoIndex = "di-*" },
			mapping:  404, wantConfig: true, wantIs: cluster.ErrNotFound,
			want: []string{"--device-info-index", "no index matches di-*"},
		},
		"feed not loaded": {
			settings:   func(c *wire.ClusterSettings) { c.IndicatorFeed = "nofeed" },
			wantConfig: true, wantIs: stack.ErrNoFeed,
			want: []string{"--indicator-feed", "feed nofeed is not loaded", "edgewatch feed load --name nofeed"},
		},
		"cluster failure is not a configuration error": {
			mapping: 500,
			want:    []string{"read DeviceInfo", "500"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := cluster.NewClient(cluster.DoerFunc(func(_ context.Context, req cluster.Request) (*cluster.Response, error) {
				switch {
				case strings.Contains(req.Path, "/_mapping/field/"):
					if tc.mapping == 500 {
						return &cluster.Response{Status: 500, Body: []byte(`{"error":{"type":"exception","reason":"boom"},"status":500}`)}, nil
					}
					return &cluster.Response{Status: tc.mapping, Body: []byte(`{}`)}, nil
				case strings.HasSuffix(req.Path, "/_alias/"+wire.FeedAlias("nofeed")):
					return &cluster.Response{Status: 404, Body: []byte(`{"error":"alias [edgewatch-indicators-nofeed] missing","status":404}`)}, nil
				}
				return &cluster.Response{Status: 400, Body: []byte(`{"error":"unexpected ` + req.Method + " " + req.Path + `"}`)}, nil
			}), cluster.ServerInfo{Flavor: cluster.OpenSearch, Version: "2.19.6", Major: 2, Minor: 19}, cluster.WithRetry(cluster.NoRetry))
			cl := &wire.ClusterSettings{URLs: []string{"http://fake:9200"}, DeviceInfoIndex: "di-x", NetworkEventsIndex: "ne-x"}
			if tc.settings != nil {
				tc.settings(cl)
			}
			s := wire.Settings{Source: wire.SourceOpenSearch, Cluster: cl, Feeds: []string{"../../../../testdata/sample/feed.txt"},
				From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
			be, err := ClusterBackend(c, s)
			if err != nil {
				t.Fatal(err)
			}
			be.RecordRun = nil
			_, err = RunWith(context.Background(), s, be, nil, time.Now)
			if err == nil {
				t.Fatal("run succeeded")
			}
			if errors.Is(err, ErrConfig) != tc.wantConfig {
				t.Errorf("errors.Is(err, ErrConfig) = %v, want %v: %v", !tc.wantConfig, tc.wantConfig, err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("err %v does not match %v", err, tc.wantIs)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q lacks %q", err, w)
				}
			}
			if tc.wantConfig && (len(err.Error()) > 200 || strings.Contains(err.Error(), "404")) {
				t.Errorf("not one short line: %q", err)
			}
		})
	}
}
