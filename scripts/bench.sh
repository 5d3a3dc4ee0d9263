#!/usr/bin/env bash
# bench.sh is `make bench`: file-mode speed and memory against two baselines,
# each measured in the same run as edgewatch (the machines are shared and
# noisy, so compare ratios within a run, never numbers across runs).
#
#  1. throughput: `edgewatch-gen bench` on 1M and 4M generated events (few
#     alerts), in-process, against an encoding/json decode of the same file.
#  2. alert-heavy: issue 14's production shape (`edgewatch-gen --shape
#     alert-heavy`: 1M flat events, ~21.7k findings against IPsum level 1),
#     the whole CLI through host + plugin writing NDJSON to a file, against
#     DuckDB running the corrected seed query (scripts/bench_duckdb.py) over
#     the same files, count-only and writing the matched rows, and against
#     the same detection in one process (the plugin boundary's cost, wall
#     and CPU). DuckDB's count must equal edgewatch's alert count.
#
# DuckDB is installed with pip into a virtualenv under .cache/bench (bench
# only; no test needs it). Peak RSS comes from GNU time (`/usr/bin/time -v`,
# installed with apt when missing); for edgewatch it is the larger of the
# host and plugin processes (wait4 folds a waited-for child's peak into its
# parent's), not their sum.
#
# Usage: scripts/bench.sh [throughput|alerts|all]      (default all)
# Environment: RUNS (alert-heavy rounds, default 8: a multiple of the runs
#   in a round, whose order rotates), FEED (default
#   testdata/ipsum/levels/1.txt), BIN (default bin), DUCKDB_VERSION (default
#   2.0.1), PROFILE=1 (also record one alert-heavy run with perf and print
#   the top functions of host and plugin), OTHER_BIN=DIR (also run that
#   build's edgewatch in every round, e.g. the previous commit's, for a
#   before/after ratio measured in the same run), GROUP_BY=FIELDS (default
#   host.id,source.ip,destination.port; also run edgewatch with --group-by
#   in every round and print grouping's cost; GROUP_BY= skips it).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
what=${1:-all}
BIN=${BIN:-bin}
RUNS=${RUNS:-8}
FEED=${FEED:-testdata/ipsum/levels/1.txt}
DUCKDB_VERSION=${DUCKDB_VERSION:-2.0.1}
GROUP_BY=${GROUP_BY-host.id,source.ip,destination.port}
cache=.cache/bench

for b in edgewatch edgewatch-defender-ti edgewatch-gen; do
	[ -x "$BIN/$b" ] || { echo "bench.sh: $BIN/$b missing (make build)" >&2; exit 1; }
done
[ -f "$FEED" ] || { echo "bench.sh: feed $FEED missing" >&2; exit 1; }

throughput() {
	echo "== throughput: 1M and 4M events, in-process, vs an encoding/json decode"
	nice -n 10 "$BIN/edgewatch-gen" bench --events 1000000 --compare 4000000 --feed "$FEED" --dir "$cache"
}

need_time() {
	if ! /usr/bin/time -v true >/dev/null 2>&1; then
		echo "bench.sh: installing GNU time (apt)" >&2
		if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
		$sudo apt-get install -y time >/dev/null || { $sudo apt-get update >/dev/null && $sudo apt-get install -y time >/dev/null; }
	fi
}

need_duckdb() {
	py=$cache/venv/bin/python
	if ! "$py" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$DUCKDB_VERSION')" 2>/dev/null; then
		echo "bench.sh: installing duckdb $DUCKDB_VERSION into $cache/venv (pip)" >&2
		mkdir -p "$cache"
		python3 -m venv "$cache/venv"
		"$cache/venv/bin/pip" install -q "duckdb==$DUCKDB_VERSION"
	fi
}

alerts() {
	need_time
	need_duckdb
	feedtag=$(basename "$FEED" .txt)
	ds=$cache/alert-heavy-s1-f$feedtag
	if [ ! -f "$ds/dataset.json" ]; then
		echo "bench.sh: generating $ds ..." >&2
		nice -n 10 "$BIN/edgewatch-gen" --shape alert-heavy --feed "$FEED" --seed 1 --out "$ds" --quiet
		echo '{"shape":"alert-heavy","seed":1}' >"$ds/dataset.json"
	fi
	# The in-process baseline: the plugin's test binary runs the same
	# detection in one process (BenchmarkFileRun's helper mode), static as
	# bin/ is (make build).
	inproc=$cache/inprocess.test
	CGO_ENABLED=0 go test -c -o "$inproc" ./cmd/edgewatch-defender-ti
	echo "== alert-heavy: whole CLI (host + plugin, NDJSON to a file) vs in-process vs DuckDB $DUCKDB_VERSION, $RUNS runs"
	"$cache/venv/bin/python" scripts/bench_alerts.py --bin "$BIN" --dataset "$ds" --feed "$FEED" \
		--runs "$RUNS" --work "$cache/work" --in-process "$inproc" ${PROFILE:+--profile} ${OTHER_BIN:+--other-bin "$OTHER_BIN"} \
		${GROUP_BY:+--group-by "$GROUP_BY"}
}

case $what in
throughput) throughput ;;
alerts) alerts ;;
all) throughput; alerts ;;
*) echo "usage: scripts/bench.sh [throughput|alerts|all]" >&2; exit 2 ;;
esac
