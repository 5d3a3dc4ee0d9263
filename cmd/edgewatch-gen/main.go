// Command edgewatch-gen writes a realistic, deterministic Defender dataset
// (DeviceInfo + DeviceNetworkEvents) of any size, and measures the file-mode
// detection over one ("edgewatch-gen bench").
//
//	edgewatch-gen --devices 2000 --events 1000000 --feed levels/1.txt --seed 1 --out DIR
//	edgewatch-gen bench --events 1000000 --feed levels/1.txt
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/internal/gen"
)

func main() {
	args := os.Args[1:]
	var err error
	if len(args) > 0 && args[0] == "bench" {
		err = benchMain(args[1:], os.Stdout, os.Stderr)
	} else {
		err = genMain(args, os.Stdout, os.Stderr)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgewatch-gen:", err)
		os.Exit(1)
	}
}

// genFlags registers the dataset flags on fs.
func genFlags(fs *flag.FlagSet, cfg *gen.Config) {
	fs.IntVar(&cfg.Devices, "devices", 2000, "devices in the fleet")
	fs.IntVar(&cfg.Events, "events", 100000, "DeviceNetworkEvents rows")
	fs.IntVar(&cfg.DeviceInfoRows, "device-info-rows", 0, "DeviceInfo rows (default 5 per device)")
	fs.StringVar(&cfg.FeedPath, "feed", "", "feed file whose addresses are planted in events (default: synthesize feed.txt)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed: the same flags always give the same bytes")
	fs.StringVar(&cfg.Format, "format", gen.FormatNDJSON, "output format: "+strings.Join(gen.Formats, "|"))
	fs.StringVar(&cfg.Columns, "columns", gen.ColumnsTypical, "network event columns: typical (~450 B a row) or full (every column)")
	fs.BoolVar(&cfg.Gzip, "gzip", false, "gzip the outputs")
	fs.IntVar(&cfg.BadRows, "bad-rows", 0, "malformed network event rows to plant")
	fs.Float64Var(&cfg.FacingShare, "facing-share", 0, "share of devices that are internet-facing (default 0.2)")
	fs.Float64Var(&cfg.InboundShare, "inbound-share", 0, "share of events that are inbound accepts (default 0.14)")
	fs.Float64Var(&cfg.FeedHitShare, "feed-hit-share", 0, "share of events whose remote is a feed address (default 0.03)")
	fs.String("shape", "", "dataset preset: "+strings.Join(gen.Shapes, "|")+" (flags given explicitly win)")
}

// applyShape fills the fields of the --shape preset that no flag set.
func applyShape(fs *flag.FlagSet, cfg *gen.Config) error {
	f := fs.Lookup("shape")
	if f == nil {
		return nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return cfg.ApplyShape(f.Value.String(), set)
}

func genMain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("edgewatch-gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg gen.Config
	genFlags(fs, &cfg)
	out := fs.String("out", "", "output directory (required)")
	quiet := fs.Bool("quiet", false, "print nothing on success")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: edgewatch-gen [flags] --out DIR\n       edgewatch-gen bench [flags]\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyShape(fs, &cfg); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return errors.New("--out DIR is required")
	}
	start := time.Now()
	res, err := gen.Generate(cfg, *out)
	if err != nil {
		return err
	}
	if !*quiet {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %d events (%.1f MB, %.0f B/row) in %s\n", res.Events, float64(res.EventBytes)/1e6,
			float64(res.EventBytes)/float64(max(res.Events, 1)), time.Since(start).Round(time.Millisecond))
	}
	return nil
}
