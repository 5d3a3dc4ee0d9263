package cli

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/edgewatch/edgewatch/plugin"
	"github.com/spf13/cobra"
)

// describeTimeout bounds starting and describing one plugin for a listing.
const describeTimeout = 20 * time.Second

func (a *app) pluginsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "plugins",
		Short: "List the plugins found, with their versions and protocol versions",
		Long: `List the edgewatch-* plugin executables found in --plugin-dir and next to
the edgewatch executable. Each one is started, asked to describe itself, and
stopped. A plugin that fails to start is listed with its error and makes the
command exit 1.`,
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
	fmt.Fprintln(tw, "NAME\tVERSION\tPROTOCOL\tOPERATIONS\tPATH\tSTATUS")
	failed := 0
	for _, f := range found {
		info, err := a.describe(cmd.Context(), f, f.Name == selected)
		if err != nil {
			failed++
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\terror: %s\n", f.Name, f.Path, oneLine(err.Error()))
			continue
		}
		ops := "-"
		if len(info.Operations) > 0 {
			ops = fmt.Sprint(len(info.Operations))
			if len(info.Operations) <= 4 {
				ops = joinComma(info.Operations)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\tok\n", info.Name, info.Version, strconv.Itoa(info.ProtocolVersion), ops, f.Path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return &reportedError{}
	}
	return nil
}

func (a *app) describe(ctx context.Context, f plugin.Found, selected bool) (plugin.Info, error) {
	sum, err := a.checksumFor(f.Name, selected)
	if err != nil {
		return plugin.Info{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	c, err := plugin.Launch(ctx, f.Path, plugin.Options{Logger: a.log, SHA256: sum})
	if err != nil {
		return plugin.Info{}, err
	}
	defer c.Close()
	info := c.Info()
	if info.Name == "" {
		info.Name = f.Name
	}
	return info, nil
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
