package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o Options
	var arches, formats string
	flag.StringVar(&o.Out, "out", "dist", "output `dir`ectory")
	flag.StringVar(&arches, "arch", "amd64,arm64", "target architectures (comma-separated)")
	flag.StringVar(&formats, "format", "deb,rpm,tar.gz", "formats (comma-separated): deb, rpm, tar.gz")
	flag.StringVar(&o.Build.Version, "version", "", "release version (default: git describe --tags --always --dirty)")
	flag.StringVar(&o.Build.Commit, "commit", "", "commit (default: git rev-parse HEAD)")
	flag.StringVar(&o.Build.Date, "date", "", "build date, RFC 3339 (default: $SOURCE_DATE_EPOCH or now)")
	flag.StringVar(&o.Root, "root", ".", "repository root")
	flag.Parse()
	o.Arches = split(arches)
	o.Formats = split(formats)
	o.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	arts, err := Build(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "packaging: %v\n", err)
		os.Exit(1)
	}
	for _, a := range arts {
		fmt.Printf("%-60s %8.1f MB\n", filepath.Join(o.Out, filepath.Base(a.Path)), float64(a.Size)/(1<<20))
	}
	fmt.Fprintf(os.Stderr, "packaging: %d artefacts in %s\n", len(arts), time.Since(start).Round(100*time.Millisecond))
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
