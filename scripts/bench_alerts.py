"""Driver of the alert-heavy part of `make bench` (scripts/bench.sh alerts).

Runs, RUNS times and interleaved so that machine noise hits all three alike:
edgewatch's whole CLI (host + plugin, NDJSON to a file), DuckDB count-only
and DuckDB writing the matched rows (scripts/bench_duckdb.py), each under
/usr/bin/time -v. Prints every run, then min / median / max and the
per-run ratios. Fails when DuckDB's count differs from edgewatch's alerts.

The edgewatch runs of a round (the CLI, and those below) go in a
rotating order: use a number of runs that is a multiple of their count.

With --in-process TEST_BINARY (the cmd/edgewatch-defender-ti test binary,
`go test -c`), every round also runs the same detection in one process
(the engine writing the same NDJSON, no plugin boundary) and prints the
boundary's cost: the CLI's wall and CPU time (user + system, host and
plugin together) over the in-process run's. CPU time is the steadier
figure on a shared machine.

With --group-by FIELDS every round also runs edgewatch with --group-by
(alert suppression, issue 15) and prints the grouped / ungrouped ratios of
wall and CPU time (goal: grouping costs at most 15%); the grouped run's
events must equal the ungrouped run's alerts.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


CPU = {}  # command -> CPU seconds (user + system) of its last run


def timed(cmd, env=None):
    """Runs cmd under GNU time; returns (wall s, peak RSS MB, stdout, stderr)
    and keeps its CPU seconds (user + system, waited-for children included)
    in CPU[cmd[0]]."""
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True,
                       env=dict(os.environ, **env) if env else None)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    rss = int(m.group(1)) / 1024 if m else float("nan")
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([0-9.]+)", p.stderr))
    CPU[cmd[0]] = cpu
    return wall, rss, p.stdout, p.stderr


def machine():
    """The CPU the numbers belong to: ratios against DuckDB move between CPU
    models (DuckDB gains more than Go code from AVX-512), so each run says."""
    info, flags = {}, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k = k.strip()
                if k == "flags" and not flags:
                    flags = set(v.split())
                elif k in ("model name", "cpu family", "model") and k not in info:
                    info[k] = v.strip()
    except OSError:
        pass
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return (f"{info.get('model name', 'unknown CPU')} (family {info.get('cpu family', '?')} "
            f"model {info.get('model', '?')}), {os.cpu_count()} CPUs, {simd}")


def lines(path):
    n = 0
    with open(path, "rb") as f:
        for _ in f:
            n += 1
    return n


def spread(xs, fmt="{:.3f}"):
    return "{} / {} / {}".format(fmt.format(min(xs)), fmt.format(statistics.median(xs)), fmt.format(max(xs)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="bin")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--feed", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default=".cache/bench/work")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--other-bin", help="also run this build's edgewatch (e.g. the previous commit's bin/) in every round")
    ap.add_argument("--in-process", help="the cmd/edgewatch-defender-ti test binary: also run the detection in one process")
    ap.add_argument("--group-by", help="also run edgewatch with --group-by FIELDS in every round (grouping's cost)")
    a = ap.parse_args()

    os.makedirs(a.work, exist_ok=True)
    di = os.path.join(a.dataset, "device_info.ndjson")
    ev = os.path.join(a.dataset, "network_events.ndjson")
    size = os.path.getsize(ev)
    ew_out = os.path.join(a.work, "edgewatch-alerts.ndjson")
    dk_out = os.path.join(a.work, "duckdb-matched.ndjson")
    ew_cmd = [os.path.join(a.bin, "edgewatch"), "run", "--device-info", di, "--network-events", ev,
              "--feed", a.feed, "--out", ew_out]
    dk = [sys.executable, os.path.join(HERE, "bench_duckdb.py"), "--device-info", di,
          "--network-events", ev, "--feed", a.feed]

    gr_cmd = None
    if a.group_by:
        gr_cmd = ew_cmd[:-1] + [os.path.join(a.work, "grouped-alerts.ndjson"), "--group-by", a.group_by]

    other_cmd = None
    if a.other_bin:
        other_cmd = [os.path.join(a.other_bin, "edgewatch")] + ew_cmd[1:-1] + [os.path.join(a.work, "other-alerts.ndjson")]

    ip_env = None
    if a.in_process:
        ip_env = {"EDGEWATCH_BENCH_INPROCESS": json.dumps(
            {"source": "file", "device_info": [di], "network_events": [ev], "feeds": [a.feed]}),
            "EDGEWATCH_BENCH_OUT": os.path.join(a.work, "inprocess-alerts.ndjson")}

    print(f"machine   {machine()}")
    print(f"dataset   {a.dataset}: {lines(ev)} events, {size / 1e6:.0f} MB; feed {a.feed}")
    rows = []
    # The edgewatch runs of a round go in a rotating order, so that each is
    # first (right after the previous round's DuckDB runs) as often as the
    # others: on this kind of VM (KVM with virtio-balloon free page
    # reporting) memory another process has just freed is handed back to
    # the host, and the next process to touch it pays a host fault per
    # page, tens to hundreds of milliseconds of system time in all. A fixed
    # order put that cost on the same run every other round.
    runs = [("ew", ew_cmd, None)]
    if gr_cmd:
        runs.append(("gr", gr_cmd, None))
    if other_cmd:
        runs.append(("ow", other_cmd, None))
    if ip_env:
        runs.append(("ip", [a.in_process], ip_env))
    for i in range(a.runs):
        got = {}
        for name, cmd, env in runs[i % len(runs):] + runs[:i % len(runs)]:
            wall, rss, _, err = timed(cmd, env)
            got[name] = (wall, rss, CPU[cmd[0]], err)
            if name == "ew":
                ew_n = lines(ew_out)
        ew_wall, ew_rss, ew_cpu, ew_err = got["ew"]
        ow_wall, ow_rss, ow_cpu, _ = got.get("ow", (None,) * 4)
        ip_wall, ip_rss, ip_cpu, _ = got.get("ip", (None,) * 4)
        gr = None
        if "gr" in got:  # wall, RSS, stdout (unused), stderr, CPU
            gr = (got["gr"][0], got["gr"][1], None, got["gr"][3], got["gr"][2])
        c_wall, c_rss, c_out, _ = timed(dk + ["--count"])
        c = json.loads(c_out)
        w_wall, w_rss, w_out, _ = timed(dk + ["--out", dk_out])
        w = json.loads(w_out)
        if not (ew_n == c["count"] == w["count"]):
            sys.exit(f"bench: counts differ: edgewatch {ew_n} alerts, DuckDB {c['count']} (count) / {w['count']} (write)\n{ew_err}")
        r = dict(ew=ew_wall, ew_rss=ew_rss, ew_cpu=ew_cpu, n=ew_n, dc=c["seconds"], dc_wall=c_wall, dc_rss=c_rss,
                 dw=w["seconds"], dw_wall=w_wall, dw_rss=w_rss, ow=ow_wall, ow_rss=ow_rss, ow_cpu=ow_cpu,
                 ip=ip_wall, ip_rss=ip_rss, ip_cpu=ip_cpu)
        if gr:  # wall, RSS, stdout, stderr, CPU
            m = re.search(r"(\d+) events matched, (\d+) grouped alerts", gr[3])
            if not m or int(m.group(1)) != ew_n:
                sys.exit(f"bench: the grouped run's events differ from the ungrouped run's {ew_n} alerts:\n{gr[3]}")
            r.update(gr=gr[0], gr_rss=gr[1], gr_cpu=gr[4], groups=int(m.group(2)))
            print(f"run {i + 1}     grouped {gr[0]:.3f} s, {gr[4]:.2f} s CPU ({gr[1]:.0f} MB), {r['groups']} groups   "
                  f"ratio grouped / ungrouped: wall {gr[0] / ew_wall:.2f}x, CPU {gr[4] / ew_cpu:.2f}x")
        rows.append(r)
        if other_cmd:
            print(f"run {i + 1}     other build {ow_wall:.3f} s, cpu {ow_cpu:.2f} s ({ow_rss:.0f} MB)   "
                  f"ratio this / other {ew_wall / ow_wall:.2f}x wall, {ew_cpu / ow_cpu:.2f}x cpu")
        if ip_env:
            print(f"run {i + 1}     in-process {ip_wall:.3f} s, cpu {ip_cpu:.2f} s ({ip_rss:.0f} MB)   "
                  f"boundary {100 * (ew_wall / ip_wall - 1):+.0f}% wall, {100 * (ew_cpu / ip_cpu - 1):+.0f}% cpu")
        print(f"run {i + 1}     edgewatch {r['ew']:.3f} s, cpu {r['ew_cpu']:.2f} s ({r['ew_rss']:.0f} MB)   "
              f"duckdb count {r['dc']:.3f} s (process {r['dc_wall']:.3f} s, {r['dc_rss']:.0f} MB)   "
              f"duckdb write {r['dw']:.3f} s (process {r['dw_wall']:.3f} s)   "
              f"ratio {r['ew'] / r['dc']:.2f}x   alerts {r['n']}")

    col = lambda k: [r[k] for r in rows]
    print(f"\nalerts    {rows[0]['n']} (DuckDB's count agrees in every run; DuckDB {json.loads(c_out)['duckdb']})")
    print("                                 min / median / max")
    print(f"edgewatch wall (s)               {spread(col('ew'))}   {size / 1e6 / statistics.median(col('ew')):.0f} MB/s, "
          f"{rows[0]['n'] and lines(ev) / statistics.median(col('ew')) / 1e6:.2f}M events/s (median)")
    print(f"edgewatch cpu, host + plugin (s) {spread(col('ew_cpu'), '{:.2f}')}")
    print(f"edgewatch peak RSS (MB)          {spread(col('ew_rss'), '{:.0f}')}")
    print(f"duckdb count, query (s)          {spread(col('dc'))}")
    print(f"duckdb count, process (s)        {spread(col('dc_wall'))}")
    print(f"duckdb write, query (s)          {spread(col('dw'))}")
    print(f"duckdb peak RSS (MB)             {spread(col('dc_rss'), '{:.0f}')} (count), {spread(col('dw_rss'), '{:.0f}')} (write)")
    print(f"ratio edgewatch / duckdb count   {spread([r['ew'] / r['dc'] for r in rows], '{:.2f}')}   (goal <= 0.70; DuckDB's query time, interpreter start excluded)")
    print(f"ratio vs duckdb count process    {spread([r['ew'] / r['dc_wall'] for r in rows], '{:.2f}')}")
    print(f"ratio edgewatch / duckdb write   {spread([r['ew'] / r['dw'] for r in rows], '{:.2f}')}")
    if gr_cmd:
        print(f"grouped ({a.group_by}): {rows[0]['groups']} groups")
        print(f"grouped wall (s)                 {spread(col('gr'))}")
        print(f"grouped CPU (s)                  {spread(col('gr_cpu'), '{:.2f}')}")
        print(f"grouped peak RSS (MB)            {spread(col('gr_rss'), '{:.0f}')}")
        print(f"ratio grouped / ungrouped wall   {spread([r['gr'] / r['ew'] for r in rows], '{:.2f}')}   (goal <= 1.15)")
        print(f"ratio grouped / ungrouped CPU    {spread([r['gr_cpu'] / r['ew_cpu'] for r in rows], '{:.2f}')}")
    if other_cmd:
        print(f"other build wall (s)             {spread(col('ow'))}")
        print(f"other build peak RSS (MB)        {spread(col('ow_rss'), '{:.0f}')}")
        print(f"ratio this / other build         {spread([r['ew'] / r['ow'] for r in rows], '{:.2f}')}")
        print(f"ratio other build / duckdb count {spread([r['ow'] / r['dc'] for r in rows], '{:.2f}')}")
        print(f"cpu other build (s)              {spread(col('ow_cpu'), '{:.2f}')}")
        print(f"cpu ratio this / other build     {spread([r['ew_cpu'] / r['ow_cpu'] for r in rows], '{:.2f}')}")
    if ip_env:
        print(f"in-process wall (s)              {spread(col('ip'))}")
        print(f"in-process cpu (s)               {spread(col('ip_cpu'), '{:.2f}')}")
        print(f"in-process peak RSS (MB)         {spread(col('ip_rss'), '{:.0f}')}")
        print(f"plugin boundary, wall            {spread([100 * (r['ew'] / r['ip'] - 1) for r in rows], '{:+.1f}%')}   (goal <= +5%)")
        print(f"plugin boundary, cpu             {spread([100 * (r['ew_cpu'] / r['ip_cpu'] - 1) for r in rows], '{:+.1f}%')}")
        if other_cmd:
            print(f"other build's boundary, wall     {spread([100 * (r['ow'] / r['ip'] - 1) for r in rows], '{:+.1f}%')}   (vs this build's in-process run)")
            print(f"other build's boundary, cpu      {spread([100 * (r['ow_cpu'] / r['ip_cpu'] - 1) for r in rows], '{:+.1f}%')}")

    if a.profile:
        profile(ew_cmd, a.work)


def perf_lines(args):
    out = subprocess.run(["perf", "report"] + args + ["--stdio", "-g", "none"], capture_output=True, text=True).stdout
    return [l.rstrip() for l in out.splitlines() if l.strip() and not l.startswith("#")]


def profile(cmd, work):
    """Records one run with perf (both processes) and prints where the CPU
    goes: each process's share, then its heaviest functions, inclusive
    (edgewatch, gRPC and protobuf frames) and self."""
    data = os.path.join(work, "perf.data")
    subprocess.run(["perf", "record", "-q", "-F", "1999", "-g", "-o", data, "--"] + cmd, check=True, capture_output=True)
    print("\nprofile   CPU samples by process (perf, one run)")
    for l in perf_lines(["-i", data, "--sort", "comm"]):
        print("   ", l.strip())
    for comm, label in (("edgewatch-defen", "plugin"), ("edgewatch", "host")):
        print(f"\nprofile   {label} ({comm}), % of all samples: inclusive")
        n = 0
        for l in perf_lines(["-i", data, "--comm", comm, "--children", "--sort", "sym", "--percent-limit", "2"]):
            if any(k in l for k in ("edgewatch/", "grpc", "protobuf", "syscall.", "runtime.mallocgc", "runtime.gcBgMarkWorker")) and n < 30:
                print("   ", l.strip()[:140])
                n += 1
        print(f"profile   {label} ({comm}): self")
        for l in perf_lines(["-i", data, "--comm", comm, "--no-children", "--sort", "sym", "--percent-limit", "1"])[:20]:
            print("   ", l.strip()[:140])
    print(f"\n(perf data: {data}; `perf report -i {data} --comm edgewatch-defen` for call graphs)")


if __name__ == "__main__":
    main()
