// Command edgewatch-bench-cluster measures edgewatch's cluster read path
// against the store's floor and a naive baseline (see cmd/edgewatch-defender-ti/internal/benchcluster).
//
//	edgewatch-bench-cluster --url http://127.0.0.1:9200 --feed ipsum.txt
//
// It loads ≥ 2M generated network events and 20k DeviceInfo rows into
// bench-* indices of the running cluster (reused with --keep), prints the
// medians, the ratios and the peak RSS, and exits non-zero when edgewatch
// and the naive baseline disagree.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/benchcluster"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/gctune"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/elasticsearch"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
)

func main() {
	gctune.Apply() // as the plugin process does
	var o benchcluster.Options
	url := flag.String("url", "", "cluster URL (default $EDGEWATCH_OPENSEARCH_URL, or $EDGEWATCH_ELASTICSEARCH_URL with --flavor elasticsearch)")
	flavor := flag.String("flavor", "opensearch", "opensearch or elasticsearch")
	asJSON := flag.Bool("json", false, "print the result as JSON")
	flag.IntVar(&o.Events, "events", 2_000_000, "network events")
	flag.IntVar(&o.Devices, "devices", 4000, "devices (5 DeviceInfo rows each)")
	flag.StringVar(&o.FeedPath, "feed", "", "IPsum ipsum.txt (level 1 = all of it)")
	flag.IntVar(&o.MinLevel, "min-level", 1, "IPsum level")
	flag.Uint64Var(&o.Seed, "seed", 1, "dataset seed")
	flag.IntVar(&o.Rounds, "rounds", 3, "timed rounds (medians are reported)")
	flag.IntVar(&o.PageSize, "page", cluster.DefaultPageSize, "search page size")
	flag.IntVar(&o.BulkMB, "bulk-mb", 8, "bulk request size in MB")
	flag.IntVar(&o.NaiveRounds, "naive-rounds", 0, "rounds that also time the naive baseline (default all; at least 1)")
	flag.BoolVar(&o.Trace, "trace", false, "print each edgewatch round's requests")
	flag.BoolVar(&o.NoPrepare, "no-prepare", false, "run the event step after the facing step, without its preparation")
	flag.StringVar(&o.FacingRead, "facing-read", cluster.FacingReadAuto, "edgewatch's facing read: auto (latest row per pair on the cluster) or rows")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.BoolVar(&o.Keep, "keep", false, "keep the indices for the next run")
	flag.StringVar(&o.IndexPrefix, "index-prefix", "bench", "index name prefix (PREFIX-deviceinfo-…, PREFIX-networkevents-…)")
	flag.Parse()

	prefix := "EDGEWATCH_OPENSEARCH"
	if *flavor == "elasticsearch" {
		prefix = "EDGEWATCH_ELASTICSEARCH"
	}
	cfg, _, err := cluster.ConfigFromEnv(prefix)
	if err != nil {
		fail(err)
	}
	if *url != "" {
		cfg.URLs = []string{*url}
	}
	if len(cfg.URLs) == 0 {
		fail(fmt.Errorf("no cluster: pass --url or set %s_URL", prefix))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch *flavor {
	case "opensearch":
		o.Client, err = opensearch.Connect(ctx, cfg)
	case "elasticsearch":
		o.Client, err = elasticsearch.Connect(ctx, cfg)
	default:
		err = fmt.Errorf("unknown flavor %q", *flavor)
	}
	if err != nil {
		fail(err)
	}
	o.Log = os.Stderr
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	res, err := benchcluster.Run(ctx, o)
	if res != nil {
		if *asJSON {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(res)
		} else {
			printResult(res)
		}
	}
	if err != nil {
		fail(err)
	}
}

func printResult(r *benchcluster.Result) {
	fmt.Printf("machine %s\n", r.Machine)
	fmt.Printf("%s %s: %d network events, %d DeviceInfo rows, %d indicators\n", r.Flavor, r.Version, r.Events, r.DeviceInfoRows, r.Indicators)
	fmt.Printf("facing pairs %d, candidates %d, matches %d, floor count %d, naive read %d\n", r.FacingPairs, r.Candidates, r.Matches, r.FloorCount, r.NaiveRead)
	fmt.Printf("strategy %s (base hits %d, distinct remotes %d, remote terms %d, chunks %d, composite pages %d)\n",
		r.Plan.Strategy, r.Plan.BaseHits, r.Plan.DistinctRemotes, r.Plan.RemoteTerms, r.Plan.Chunks, r.Plan.CompositePages)
	fmt.Printf("facing read %s (groups %d, documents %d, pairs %d, requests %d)\n",
		r.FacingPlan.Mode, r.FacingPlan.Groups, r.FacingPlan.Hits, r.FacingPlan.Pairs, r.FacingPlan.Requests)
	fmt.Printf("edgewatch %.0f ms (facing %.0f ms)  floor %.0f ms  naive %.0f ms\n", r.EdgewatchMS, r.FacingMS, r.FloorMS, r.NaiveMS)
	fmt.Printf("edgewatch / floor = %.2f (target <= 3; event step alone %.2f)\n", r.FloorRatio, r.EventFloorRatio)
	fmt.Printf("naive / edgewatch = %.1f (target >= 10)\n", r.NaiveSpeedup)
	fmt.Printf("peak RSS (detection) %.0f MB\n", float64(r.PeakRSSBytes)/(1<<20))
	if r.ServerCPUMS >= 0 {
		fmt.Printf("CPU per edgewatch round: client %.0f ms, cluster %.0f ms (the floor's _count: cluster %.0f ms)\n",
			r.ClientCPUMS, r.ServerCPUMS, r.FloorServerCPUMS)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "edgewatch-bench-cluster:", err)
	os.Exit(1)
}
