package cluster

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/internal/testenv"
)

// level1 parses the real IPsum levels/1.txt (~120k addresses) from the
// repository's testdata/ipsum (EDGEWATCH_IPSUM_DIR overrides).
func level1(tb testing.TB) *correlation.IndicatorSet {
	tb.Helper()
	path := filepath.Join(testenv.IPsumDir(tb), "levels", "1.txt")
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("IPsum level 1: %v", err)
	}
	defer f.Close()
	set := correlation.NewIndicatorSet("ipsum")
	if _, err := correlation.ParseFeed(f, path, correlation.FeedOptions{Name: "ipsum", LevelHint: 1}, set); err != nil {
		tb.Fatal(err)
	}
	return set
}

func TestAppendJSONStrings(t *testing.T) {
	tests := []struct {
		name   string
		values []string
	}{
		{"empty", []string{}},
		{"addresses", []string{"1.2.3.4", "::ffff:1.2.3.4", "2a00::/16"}},
		{"quote and backslash", []string{`a"b`, `c\d`}},
		{"html", []string{"<script>", "a&b"}},
		{"control and unicode", []string{"tab\there", "é", "\u2028"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.values)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendJSONStrings(nil, tc.values); !bytes.Equal(got, want) {
				t.Errorf("appendJSONStrings = %s, json.Marshal = %s", got, want)
			}
		})
	}
}

// TestIndicatorTermsLevel1 checks the terms of the real level-1 list: one
// per address on an ip field, both forms on a keyword field, in the set's
// order, and the encoded chunks are what json.Marshal would write.
func TestIndicatorTermsLevel1(t *testing.T) {
	set := level1(t)
	ip := fieldPlan{Fields: []string{"RemoteIP"}, Pushable: true, AllIP: true}
	vals, cidrs, ok := indicatorTerms(set, ip, 10)
	if !ok || cidrs != 0 || len(vals) != set.Len() {
		t.Fatalf("ip field: %d terms, %d cidrs, ok %v; want %d addresses", len(vals), cidrs, ok, set.Len())
	}
	i := 0
	for ind := range set.All() {
		if vals[i] != ind.Prefix.Addr().String() {
			t.Fatalf("term %d = %s, want %s", i, vals[i], ind.Prefix.Addr())
		}
		i++
	}
	kw := fieldPlan{Fields: []string{"RemoteIP"}, Pushable: true, AnyKeyword: true}
	kvals, _, ok := indicatorTerms(set, kw, 10)
	if !ok || len(kvals) != 2*set.Len() || kvals[1] != "::ffff:"+kvals[0] {
		t.Fatalf("keyword field: %d terms (%v…), want both forms of %d", len(kvals), kvals[:2], set.Len())
	}
	want, _ := json.Marshal(vals[:65536])
	c, _ := termsClauseStrings("RemoteIP", ip, vals, 65536)
	if !bytes.Contains(JSON(c), want) {
		t.Error("the first terms chunk is not json.Marshal's encoding of the first 65536 terms")
	}
}

// BenchmarkIndicatorTermsLevel1 is the client-side cost of the
// indicators-first listing's request: every level-1 address as terms
// chunks, encoded as the request body.
func BenchmarkIndicatorTermsLevel1(b *testing.B) {
	set := level1(b)
	for _, tc := range []struct {
		name string
		plan fieldPlan
	}{
		{"ip", fieldPlan{Fields: []string{"RemoteIP"}, Pushable: true, AllIP: true}},
		{"keyword", fieldPlan{Fields: []string{"RemoteIP"}, Pushable: true, AnyKeyword: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				vals, _, ok := indicatorTerms(set, tc.plan, 1000)
				if !ok {
					b.Fatal("not pushable")
				}
				c, _ := termsClauseStrings("RemoteIP", tc.plan, vals, 65536)
				size = len(JSON(jsonObj{"query": boolQuery([]any{c}, nil, nil)}))
			}
			b.ReportMetric(float64(size), "body-bytes")
		})
	}
}
