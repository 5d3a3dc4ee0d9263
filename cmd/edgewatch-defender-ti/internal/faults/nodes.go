package faults

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/internal/testenv"
)

// Nodes stops and starts the nodes of the OpenSearch cluster that
// `scripts/cluster.sh start opensearch --nodes N` runs on 127.0.0.1. Node
// i is named "edgewatch-node-<i>".
type Nodes struct {
	Script string    // scripts/cluster.sh
	N      int       // nodes in the cluster
	Log    io.Writer // the script's output; nil discards it
}

// NewNodes finds scripts/cluster.sh in the repository above the working
// directory (tests) or the executable's directory (bin/edgewatch-soak).
func NewNodes(n int, log io.Writer) (Nodes, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return Nodes{}, fmt.Errorf("scripts/cluster.sh: %w", err)
	}
	return Nodes{Script: filepath.Join(root, "scripts", "cluster.sh"), N: n, Log: log}, nil
}

// Stop stops node i: SIGTERM (a clean shutdown: the node leaves the
// cluster) or, with kill, SIGKILL (the node vanishes). It returns once the
// process is gone.
func (ns Nodes) Stop(ctx context.Context, i int, kill bool) error {
	args := []string{"stop-node", "opensearch", "--nodes", strconv.Itoa(ns.N), strconv.Itoa(i)}
	if kill {
		args = append(args, "--kill")
	}
	return ns.run(ctx, args...)
}

// Start starts node i again and returns once it has joined and the
// cluster is yellow or green.
func (ns Nodes) Start(ctx context.Context, i int) error {
	return ns.run(ctx, "start-node", "opensearch", "--nodes", strconv.Itoa(ns.N), strconv.Itoa(i))
}

func (ns Nodes) run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, ns.Script, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if ns.Log != nil {
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, ns.Log), io.MultiWriter(&out, ns.Log)
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(ns.Script), strings.Join(args, " "), err, out.Bytes())
	}
	return nil
}

// NodeNumber is the cluster.sh number of the node named name
// ("edgewatch-node-3" → 3).
func NodeNumber(name string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "edgewatch-node-"))
	return n, err == nil && strings.HasPrefix(name, "edgewatch-node-")
}

// NodeIDs maps the cluster's node ids to their cluster.sh numbers.
func NodeIDs(ctx context.Context, c *cluster.Client) (map[string]int, error) {
	var r struct {
		Nodes map[string]struct {
			Name string `json:"name"`
		} `json:"nodes"`
	}
	if err := c.Call(ctx, "list nodes", cluster.Request{Method: http.MethodGet, Path: "/_nodes",
		Query: url.Values{"filter_path": {"nodes.*.name"}}}, &r); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for id, n := range r.Nodes {
		if i, ok := NodeNumber(n.Name); ok {
			out[id] = i
		}
	}
	return out, nil
}

// PrimaryNodes returns the cluster.sh numbers of the nodes holding a
// primary of index, sorted, without repeats.
func PrimaryNodes(ctx context.Context, c *cluster.Client, index string) ([]int, error) {
	var rows []struct {
		Prirep string `json:"prirep"`
		Node   string `json:"node"`
		State  string `json:"state"`
	}
	if err := c.Call(ctx, "shards of "+index, cluster.Request{Method: http.MethodGet, Path: "/_cat/shards/" + url.PathEscape(index),
		Query: url.Values{"format": {"json"}, "h": {"prirep,node,state"}}}, &rows); err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	var out []int
	for _, r := range rows {
		if r.Prirep != "p" || r.State != "STARTED" {
			continue
		}
		if i, ok := NodeNumber(r.Node); ok && !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	sort.Ints(out)
	return out, nil
}

// PITContexts is the number of open point-in-time contexts per node
// number.
func PITContexts(ctx context.Context, c *cluster.Client) (map[int]int, error) {
	var r struct {
		Nodes map[string]struct {
			Name    string `json:"name"`
			Indices struct {
				Search struct {
					PIT int `json:"point_in_time_current"`
				} `json:"search"`
			} `json:"indices"`
		} `json:"nodes"`
	}
	if err := c.Call(ctx, "node search stats", cluster.Request{Method: http.MethodGet, Path: "/_nodes/stats/indices/search",
		Query: url.Values{"filter_path": {"nodes.*.name,nodes.*.indices.search.point_in_time_current"}}}, &r); err != nil {
		return nil, err
	}
	out := map[int]int{}
	for _, n := range r.Nodes {
		if i, ok := NodeNumber(n.Name); ok {
			out[i] = n.Indices.Search.PIT
		}
	}
	return out, nil
}

// WaitHealth waits until the cluster's health is at least status
// ("yellow" or "green"), up to timeout.
func WaitHealth(ctx context.Context, c *cluster.Client, status string, timeout time.Duration) error {
	var r struct {
		Status   string `json:"status"`
		TimedOut bool   `json:"timed_out"`
	}
	err := c.Call(ctx, "cluster health", cluster.Request{Method: http.MethodGet, Path: "/_cluster/health",
		Query: url.Values{"wait_for_status": {status}, "timeout": {fmt.Sprintf("%ds", int(timeout.Seconds()))}}}, &r)
	if err == nil && r.TimedOut {
		err = fmt.Errorf("cluster health is %s after %v, want %s", r.Status, timeout, status)
	}
	return err
}
