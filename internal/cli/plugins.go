package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgewatch/edgewatch/internal/version"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/spf13/cobra"
)

// describeTimeout bounds starting and describing one plugin for a listing.
const describeTimeout = 20 * time.Second

func (a *app) pluginsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "plugins",
		Short: "List the plugins found, with their versions and protocol versions",
		Long: `List the edgewatch-* plugin executables found in --plugin-dir, next to
the edgewatch executable and in ` + plugin.SystemDir + `. Each one is started, asked
to describe itself (version, commit, build date), and stopped. SHA256 says
whether its checksum was verified before it started (--plugin-sha256, or the
checksum a packaged edgewatch carries for the plugin it ships with). A plugin
that fails to start, or whose checksum differs, is listed with its error and
makes the command exit 1.`,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.plugins(cmd) },
	}
}

func (a *app) plugins(cmd *cobra.Command) error {
	self := a.executable()
	dirs := plugin.SearchDirs(a.pluginDirs, self)
	found, err := plugin.Discover(dirs, self)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return fmt.Errorf("no plugins found (searched %v)", dirs)
	}
	selected := baseName(a.pluginName())
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tCOMMIT\tBUILT\tPROTOCOL\tOPERATIONS\tSHA256\tPATH\tSTATUS")
	failed := 0
	for _, f := range found {
		info, verified, err := a.describe(cmd.Context(), f, f.Name == selected)
		if err != nil {
			failed++
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t%s\terror: %s\n", f.Name, f.Path, oneLine(err.Error()))
			continue
		}
		ops := "-"
		if len(info.Operations) > 0 {
			ops = fmt.Sprint(len(info.Operations))
			if len(info.Operations) <= 4 {
				ops = joinComma(info.Operations)
			}
		}
		v := version.Parse(info.Version)
		sha := "-"
		if verified {
			sha = "verified"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\tok\n", info.Name, dash(v.Version), dash(shortCommit(v.Commit)), dash(v.Date),
			strconv.Itoa(info.ProtocolVersion), ops, sha, f.Path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return &reportedError{}
	}
	return nil
}

// describe starts the plugin, verifying its checksum when one is known,
// and returns what it says about itself and whether it was verified.
func (a *app) describe(ctx context.Context, f plugin.Found, selected bool) (plugin.Info, bool, error) {
	sum, err := a.checksumFor(f.Name, selected)
	if err != nil {
		return plugin.Info{}, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	c, err := plugin.Launch(ctx, f.Path, plugin.Options{Logger: a.log, SHA256: sum})
	if err != nil {
		return plugin.Info{}, false, err
	}
	defer c.Close()
	info := c.Info()
	if info.Name == "" {
		info.Name = f.Name
	}
	return info, len(sum) > 0, nil
}

// shortCommit abbreviates a full commit hash for the listing.
func shortCommit(c string) string {
	if h, dirty, _ := strings.Cut(c, "-"); len(h) > 12 {
		if dirty != "" {
			return h[:12] + "-" + dirty
		}
		return h[:12]
	}
	return c
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}
