package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/spf13/cobra"
)

func (a *app) feedCommand() *cobra.Command {
	feed := &cobra.Command{
		Use:   "feed",
		Short: "Manage indicator feeds in the cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf("feed: want a subcommand: load or status")
		},
	}
	feed.AddCommand(a.feedLoadCommand(), a.feedStatusCommand())
	return feed
}

func (a *app) feedLoadCommand() *cobra.Command {
	var af adminFlags
	var file, name string
	var minLevel int
	var allowEmpty bool
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Load an indicator feed file into the cluster's lookup index",
		Long: "Load an indicator feed file (IPsum ipsum.txt, levels/N.txt, or a list of IPs/CIDRs) into the\n" +
			wire.IndicatorIndexPrefix + "NAME lookup index: a fresh index, made live by one atomic alias swap.\n" +
			"A failed load leaves the live feed as it was. --file - reads the feed from stdin.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageErrorf("feed load: --file is required")
			}
			return printOp(a, cmd, &af, wire.OpFeedLoad, func(s wire.Settings) (wire.FeedLoadArgs, error) {
				args := wire.FeedLoadArgs{Settings: s, Name: name, AllowEmpty: allowEmpty}
				if cmd.Flags().Changed("min-level") {
					args.MinLevel = &minLevel
				}
				var err error
				if file == "-" {
					args.Content, err = readStdinFeed(a.env.Stdin)
				} else {
					args.File, err = inputFile("--file", file)
				}
				return args, err
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&file, "file", "", "feed `file`, - for stdin (required)")
	fs.IntVar(&minLevel, "min-level", 0, "minimum IPsum level to load")
	fs.StringVar(&name, "name", wire.DefaultFeedName, "feed name")
	fs.BoolVar(&allowEmpty, "allow-empty", false, "let a feed file without indicators replace the live feed")
	af.register(fs)
	return cmd
}

func (a *app) feedStatusCommand() *cobra.Command {
	var af adminFlags
	var name string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the indicator feeds loaded in the cluster (size per level, age)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return printOp(a, cmd, &af, wire.OpFeedStatus, func(s wire.Settings) (wire.FeedStatusArgs, error) {
				return wire.FeedStatusArgs{Settings: s, Name: name}, nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "feed name (default: every live feed)")
	af.register(cmd.Flags())
	return cmd
}

// readStdinFeed reads a feed from stdin; it travels to the plugin in the
// operation's arguments, which one gRPC message bounds.
func readStdinFeed(stdin io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(stdin, wire.MaxFeedContent+1))
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	if len(b) > wire.MaxFeedContent {
		return nil, usageErrorf("--file -: the feed on stdin is larger than %d MiB: write it to a file and give --file PATH", wire.MaxFeedContent>>20)
	}
	if b == nil {
		b = []byte{} // an empty feed is still a feed (allow_empty decides)
	}
	return b, nil
}

// inputFile checks that an input file exists and returns its absolute path
// (the plugin process reads it).
func inputFile(flag, p string) (string, error) {
	if _, err := os.Stat(p); err != nil {
		return "", fileUsageError(flag, p, err)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p, nil
}
