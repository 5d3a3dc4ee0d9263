//go:build linux

// Command edgewatch-soak is the fault soak (`make soak`): edgewatch serve
// against the three-node OpenSearch cluster on 127.0.0.1 while events
// arrive and the plugin, the host, cluster nodes and a second serve
// instance fail at random; then the alerts are checked against a
// file-mode run over the same events. It exits 0 when 0 alerts are lost,
// duplicated or extra, 1 when not, 2 on a usage or setup error. See
// internal/soak.
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

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/faults"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/soak"
	"github.com/edgewatch/edgewatch/internal/testenv"
)

func main() {
	os.Exit(run())
}

func run() int {
	var o soak.Options
	var urls, script, jsonOut string
	var nodes int
	defURLs := os.Getenv(testenv.Env3NodeURLs)
	if defURLs == "" {
		defURLs = "http://127.0.0.1:9220,http://127.0.0.1:9221,http://127.0.0.1:9222"
	}
	self, _ := os.Executable()
	flag.DurationVar(&o.Duration, "duration", soak.DefaultDuration, "the whole soak, catch-up included (1m to 10m)")
	flag.DurationVar(&o.CatchUp, "catch-up", 0, "the end of --duration left for serve to catch up (default a quarter, at least 75s)")
	flag.Uint64Var(&o.Seed, "seed", 0, "seed of the data and the fault schedule (0: from the clock; printed)")
	flag.StringVar(&urls, "urls", defURLs, "the cluster's node URLs, comma-separated (127.0.0.1 only; default $"+testenv.Env3NodeURLs+")")
	flag.IntVar(&nodes, "nodes", 3, "nodes of the cluster (scripts/cluster.sh --nodes N)")
	flag.StringVar(&script, "cluster-script", "", "scripts/cluster.sh (default: found above the working directory)")
	flag.StringVar(&o.BinDir, "bin", filepath.Dir(self), "directory of edgewatch and edgewatch-defender-ti")
	flag.StringVar(&o.Work, "work", "", "work directory: events NDJSON, serve config and logs (default: a temporary one, removed after a pass)")
	flag.DurationVar(&o.Interval, "interval", 0, "serve's schedule interval (default 5s)")
	flag.IntVar(&o.Batch, "batch", 0, "events per batch (default 150)")
	flag.DurationVar(&o.BatchEvery, "batch-every", 0, "time between batches (default 2s)")
	flag.BoolVar(&o.Keep, "keep", false, "keep the soak's indices, alerts, state documents and work directory")
	flag.StringVar(&jsonOut, "json", "", "also write the report as JSON to this `file`")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "edgewatch-soak: unexpected arguments %v\n", flag.Args())
		return 2
	}
	for _, u := range strings.Split(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			o.URLs = append(o.URLs, u)
		}
	}
	var err error
	if script == "" {
		o.Nodes, err = faults.NewNodes(nodes, os.Stdout)
	} else {
		o.Nodes = faults.Nodes{Script: script, N: nodes, Log: os.Stdout}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "edgewatch-soak: %v (give --cluster-script)\n", err)
		return 2
	}
	o.Out = os.Stdout

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := soak.Run(ctx, o)
	if rep != nil {
		rep.Print(os.Stdout)
		if jsonOut != "" {
			if werr := rep.WriteJSON(jsonOut); werr != nil {
				fmt.Fprintf(os.Stderr, "edgewatch-soak: %v\n", werr)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "edgewatch-soak: %v\n", err)
		return 2
	}
	if !rep.OK() {
		return 1
	}
	return 0
}
