package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/spf13/cobra"
)

// printRoles is `install --print-roles`: the detector and installer roles
// of the flavor the flags name (both when none), fitted to the Defender
// indices and the alert index given, without contacting a cluster.
func (a *app) printRoles(cmd *cobra.Command, f *stackFlags) error {
	s, _, err := a.adminSettings(cmd, &f.adminFlags)
	if err != nil {
		return err
	}
	flavors := []string{wire.SourceOpenSearch, wire.SourceElasticsearch}
	if s.Source == wire.SourceOpenSearch || s.Source == wire.SourceElasticsearch {
		flavors = []string{s.Source}
	}
	var opts dashboards.RoleOptions
	if cl := s.Cluster; cl != nil {
		for _, p := range []string{cl.DeviceInfoIndex, cl.NetworkEventsIndex} {
			for _, n := range strings.Split(p, ",") {
				if n = strings.TrimSpace(n); n != "" && !contains(opts.DefenderIndices, n) {
					opts.DefenderIndices = append(opts.DefenderIndices, n)
				}
			}
		}
		opts.AlertIndex = cl.AlertIndex
	}
	if opts.AlertIndex == "" && f.detection != "" {
		opts.AlertIndex = wire.AlertAlias(f.detection)
	}
	if opts.AlertIndex != "" {
		opts.FindingsAlias = wire.FindingsAlias(opts.AlertIndex)
	}
	kinds := []string{dashboards.RoleDetector, dashboards.RoleInstaller}
	docs := map[string]map[string]json.RawMessage{}
	var text bytes.Buffer
	for _, fl := range flavors {
		docs[fl] = map[string]json.RawMessage{}
		for _, k := range kinds {
			doc, err := dashboards.SecurityRole(fl, k, opts)
			if err != nil {
				return err
			}
			docs[fl][dashboards.RoleName(k)] = doc
			fmt.Fprintf(&text, "# %s\n%s", roleHeader(fl, k), doc)
			if !bytes.HasSuffix(doc, []byte("\n")) {
				text.WriteByte('\n')
			}
		}
	}
	if f.asJSON {
		return printJSON(cmd.OutOrStdout(), docs)
	}
	_, err = io.Copy(cmd.OutOrStdout(), &text)
	return err
}

// roleHeader says where a role document goes.
func roleHeader(flavor, kind string) string {
	name := dashboards.RoleName(kind)
	use := "edgewatch run, serve, feed load"
	if kind == dashboards.RoleInstaller {
		use = "edgewatch install, uninstall"
	}
	if flavor == wire.SourceOpenSearch {
		return fmt.Sprintf("OpenSearch security role %s (%s): PUT _plugins/_security/api/roles/%s, then map the user to it (PUT _plugins/_security/api/rolesmapping/%s)",
			name, use, name, name)
	}
	h := fmt.Sprintf("Elasticsearch role %s (%s): PUT _security/role/%s", name, use, name)
	if kind == dashboards.RoleDetector {
		h += `; for an API key, the same without "description" as its role_descriptors entry`
	}
	return h
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
