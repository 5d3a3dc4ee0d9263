package dashboards

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

func TestSecurityRoleBundled(t *testing.T) {
	for _, flavor := range []string{"opensearch", "elasticsearch"} {
		for _, kind := range []string{RoleDetector, RoleInstaller} {
			t.Run(flavor+"/"+kind, func(t *testing.T) {
				got, err := SecurityRole(flavor, kind, RoleOptions{})
				if err != nil {
					t.Fatal(err)
				}
				want, err := os.ReadFile("security/" + flavor + "-" + kind + ".json")
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("SecurityRole(%s, %s) differs from the file", flavor, kind)
				}
				// Fitting the role re-encodes it from Go types: they must
				// hold every field of the file, or a fitted role would lose
				// a privilege.
				dec := json.NewDecoder(bytes.NewReader(want))
				dec.DisallowUnknownFields()
				var v any = &osRole{}
				if flavor == "elasticsearch" {
					v = &esRole{}
				}
				if err := dec.Decode(v); err != nil {
					t.Errorf("the role types do not hold the file: %v", err)
				}
			})
		}
	}
}

// names collects each permission's index names of a role document.
func names(t *testing.T, flavor string, doc []byte) [][]string {
	t.Helper()
	var out [][]string
	if flavor == "elasticsearch" {
		var r esRole
		if err := json.Unmarshal(doc, &r); err != nil {
			t.Fatal(err)
		}
		for _, p := range r.Indices {
			out = append(out, p.Names)
		}
		return out
	}
	var r osRole
	if err := json.Unmarshal(doc, &r); err != nil {
		t.Fatal(err)
	}
	for _, p := range r.IndexPermissions {
		out = append(out, p.IndexPatterns)
	}
	return out
}

func TestSecurityRoleFitted(t *testing.T) {
	tests := []struct {
		name string
		kind string
		opts RoleOptions
		want [][]string // index names per permission, in order
	}{
		{name: "detector, defender indices and alert index", kind: RoleDetector,
			opts: RoleOptions{DefenderIndices: []string{"m365-deviceinfo-*", "m365-network-*"}, AlertIndex: "edgewatch-alerts-soc", FindingsAlias: "edgewatch-findings-soc"},
			want: [][]string{{"m365-deviceinfo-*", "m365-network-*"}, {"edgewatch-alerts-soc", "edgewatch-alerts-soc-*"},
				{"edgewatch-findings-soc", "edgewatch-findings-soc-*"}, {"edgewatch-indicators-*"}, {"edgewatch-state"}}},
		{name: "detector, defender indices only", kind: RoleDetector,
			opts: RoleOptions{DefenderIndices: []string{"logs-m365_defender.event-*"}},
			want: [][]string{{"logs-m365_defender.event-*"}, {"edgewatch-alerts-*"}, {"edgewatch-findings-*"}, {"edgewatch-indicators-*"}, {"edgewatch-state"}}},
		{name: "detector, alert alias outside edgewatch-*", kind: RoleDetector,
			opts: RoleOptions{AlertIndex: "soc-alerts", FindingsAlias: "soc-alerts-findings"},
			want: [][]string{{"defender-*"}, {"soc-alerts", "soc-alerts-*"}, {"soc-alerts-findings", "soc-alerts-findings-*"}, {"edgewatch-indicators-*"}, {"edgewatch-state"}}},
		{name: "installer keeps edgewatch-* and reads the alert index", kind: RoleInstaller,
			opts: RoleOptions{DefenderIndices: []string{"x-*"}, AlertIndex: "edgewatch-alerts-soc"},
			want: [][]string{{"edgewatch-*"}, {"edgewatch-alerts-soc", "edgewatch-alerts-soc-*"}}},
		{name: "installer, alert index outside edgewatch-*", kind: RoleInstaller,
			opts: RoleOptions{AlertIndex: "soc-alerts", FindingsAlias: "soc-alerts-findings"},
			want: [][]string{{"edgewatch-*", "soc-alerts", "soc-alerts-*"}, {"soc-alerts", "soc-alerts-*"}}},
	}
	for _, flavor := range []string{"opensearch", "elasticsearch"} {
		for _, tt := range tests {
			t.Run(flavor+"/"+tt.name, func(t *testing.T) {
				got, err := SecurityRole(flavor, tt.kind, tt.opts)
				if err != nil {
					t.Fatal(err)
				}
				if n := names(t, flavor, got); !slices.EqualFunc(n, tt.want, slices.Equal) {
					t.Errorf("index names %q, want %q", n, tt.want)
				}
				// Everything but the index names stays as bundled.
				bundled, _ := SecurityRole(flavor, tt.kind, RoleOptions{})
				var a, b map[string]any
				_ = json.Unmarshal(got, &a)
				_ = json.Unmarshal(bundled, &b)
				for _, k := range []string{"description", "cluster", "cluster_permissions"} {
					if ja, jb := jsonOf(a[k]), jsonOf(b[k]); ja != jb {
						t.Errorf("%s changed: %s, bundled %s", k, ja, jb)
					}
				}
			})
		}
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestSecurityRoleUnknown(t *testing.T) {
	for _, tc := range []struct{ name, flavor, kind string }{
		{"unknown flavor", "solr", RoleDetector},
		{"unknown role", "opensearch", "admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := SecurityRole(tc.flavor, tc.kind, RoleOptions{}); err == nil {
				t.Error("no error")
			}
		})
	}
}
