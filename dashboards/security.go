package dashboards

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// The least-privileged roles for secured clusters (security/README.md): the
// detector (run, serve, feed load) and the installer (install, uninstall),
// each as the body of the server's role API. `edgewatch install
// --print-roles` prints them; scripts/cluster.sh creates them on the
// secured test servers and `make secure-check` proves every privilege.
//
//go:embed security/*.json
var securityFS embed.FS

// Role kinds.
const (
	RoleDetector  = "detector"
	RoleInstaller = "installer"
)

// RoleName is the role's name on the servers: edgewatch_<kind>.
func RoleName(kind string) string { return "edgewatch_" + kind }

// RoleDefenderPattern is the Defender index pattern the bundled roles
// grant (the test servers' data); RoleOptions.DefenderIndices replaces it.
const RoleDefenderPattern = "defender-*"

// RoleOptions fit the bundled roles to a deployment. The zero value keeps
// them as bundled.
type RoleOptions struct {
	// DefenderIndices are the indices or patterns of the Defender data
	// (--device-info-index, --network-events-index): the detector reads
	// them instead of defender-*.
	DefenderIndices []string
	// AlertIndex is the alert write alias the detector writes: its role is
	// narrowed from edgewatch-alerts-* to the alias and its backing indices
	// (<alias>-*). An alias outside edgewatch-* is added to the
	// installer's indices too.
	AlertIndex string
	// FindingsAlias is the findings alias that goes with AlertIndex (where
	// a grouping detection keeps its evidence: wire.FindingsAlias): the
	// detector's edgewatch-findings-* is narrowed to it and its backing
	// indices.
	FindingsAlias string
}

// esRole and osRole are the two role documents, fields in the bundled
// files' order.
type esRole struct {
	Description string         `json:"description,omitempty"`
	Cluster     []string       `json:"cluster"`
	Indices     []esIndicesPrv `json:"indices"`
}

type esIndicesPrv struct {
	Names      []string `json:"names"`
	Privileges []string `json:"privileges"`
}

type osRole struct {
	Description        string       `json:"description,omitempty"`
	ClusterPermissions []string     `json:"cluster_permissions"`
	IndexPermissions   []osIndexPrm `json:"index_permissions"`
}

type osIndexPrm struct {
	IndexPatterns  []string `json:"index_patterns"`
	AllowedActions []string `json:"allowed_actions"`
}

// SecurityRole returns the role document of kind (RoleDetector or
// RoleInstaller) for flavor ("opensearch" or "elasticsearch"): the bundled
// file byte for byte when opts is zero, else the same role fitted to opts.
func SecurityRole(flavor, kind string, opts RoleOptions) ([]byte, error) {
	if flavor != "opensearch" && flavor != "elasticsearch" {
		return nil, fmt.Errorf("roles: unknown flavor %q (want opensearch or elasticsearch)", flavor)
	}
	if kind != RoleDetector && kind != RoleInstaller {
		return nil, fmt.Errorf("roles: unknown role %q (want %s or %s)", kind, RoleDetector, RoleInstaller)
	}
	raw, err := securityFS.ReadFile("security/" + flavor + "-" + kind + ".json")
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	if len(opts.DefenderIndices) == 0 && opts.AlertIndex == "" && opts.FindingsAlias == "" {
		return raw, nil
	}
	var out any
	if flavor == "elasticsearch" {
		var r esRole
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("roles: bundled %s: %w", flavor, err)
		}
		for i := range r.Indices {
			r.Indices[i].Names = fitNames(kind, r.Indices[i].Names, opts)
		}
		out = r
	} else {
		var r osRole
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("roles: bundled %s: %w", flavor, err)
		}
		for i := range r.IndexPermissions {
			r.IndexPermissions[i].IndexPatterns = fitNames(kind, r.IndexPermissions[i].IndexPatterns, opts)
		}
		out = r
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return inlineStringArrays(b.Bytes()), nil
}

// stringArrayRE matches an indented JSON array of strings; itemSepRE the
// separators between its items.
var (
	itemSepRE     = regexp.MustCompile(`,\n\s*`)
	stringArrayRE = regexp.MustCompile(`\[\n\s*("(?:[^"\\]|\\.)*"(?:,\n\s*"(?:[^"\\]|\\.)*")*)\n\s*\]`)
)

// inlineStringArrays puts each array of strings of indented JSON on one
// line, as the bundled role files have them.
func inlineStringArrays(b []byte) []byte {
	return stringArrayRE.ReplaceAllFunc(b, func(m []byte) []byte {
		items := stringArrayRE.FindSubmatch(m)[1]
		return append(append([]byte("["), itemSepRE.ReplaceAll(items, []byte(", "))...), ']')
	})
}

// fitNames rewrites the index names of one permission of a role of kind.
func fitNames(kind string, names []string, opts RoleOptions) []string {
	const alerts, findings = "edgewatch-alerts-*", "edgewatch-findings-*"
	var out []string
	for _, n := range names {
		switch {
		case n == RoleDefenderPattern && kind == RoleDetector && len(opts.DefenderIndices) > 0:
			out = append(out, opts.DefenderIndices...)
		case n == alerts && opts.AlertIndex != "":
			out = append(out, opts.AlertIndex, opts.AlertIndex+"-*")
		case n == findings && opts.FindingsAlias != "":
			out = append(out, opts.FindingsAlias, opts.FindingsAlias+"-*")
		case n == "edgewatch-*" && opts.AlertIndex != "" && !strings.HasPrefix(opts.AlertIndex, "edgewatch-"):
			out = append(out, n, opts.AlertIndex, opts.AlertIndex+"-*")
		default:
			out = append(out, n)
		}
	}
	return out
}
