#!/usr/bin/env bash
# scripts/cluster.sh — real OpenSearch / Elasticsearch test servers on 127.0.0.1.
#
# Usage:
#   scripts/cluster.sh start  opensearch|elasticsearch [version]
#   scripts/cluster.sh stop   opensearch|elasticsearch [version]
#   scripts/cluster.sh status opensearch|elasticsearch [version]
#   scripts/cluster.sh url    opensearch|elasticsearch [version]
#   scripts/cluster.sh env    opensearch|elasticsearch [version]   # export lines for tests
#   scripts/cluster.sh fetch  opensearch|elasticsearch [version]   # download + unpack only
#   scripts/cluster.sh log    opensearch|elasticsearch [version]   # last lines of the server log
#
# Versions (Maven Central integration-test distributions, fetched with `mvn dependency:copy`):
#   opensearch     2.19.6  default (Java 17; newest 2.x served)
#                  3.6.0   optional (newest 3.x served; needs Java 21+, runs on Temurin 25)
#   elasticsearch  8.19.21 default (Java 17; newest 8.x served; 8.19.7 also starts)
#                  9.1.0   optional (needs Java 21+, runs on Temurin 25; 9.5.6 is not served)
# Maven's metadata for these artifacts is incomplete (it omits 8.19.7 and every 9.x that is
# served), so a version is "served" when `mvn dependency:copy` fetches it.
#
# Defaults: OpenSearch http 9200 / transport 9300, Elasticsearch http 9201 / transport 9301.
# Override with EDGEWATCH_CLUSTER_HTTP_PORT / EDGEWATCH_CLUSTER_TRANSPORT_PORT (e.g. to run a
# second version beside the default one). Heap 512m..1g (EDGEWATCH_CLUSTER_HEAP_MIN/_MAX).
# Start waits for yellow/green up to EDGEWATCH_CLUSTER_TIMEOUT seconds (default 240) and on
# failure prints the tail of the server log and exits non-zero. Start is idempotent: a server
# of ours already answering on the port is "already running".
#
# Layout: everything lives under .cache/clusters/ in the repository (gitignored):
#   dist/<flavor>-<version>.zip          the downloaded zip (also in ~/.m2)
#   <flavor>-<version>/home/             unpacked distribution (config rewritten by this script)
#   <flavor>-<version>/{data,logs,tmp}/  node data, logs, JVM temp
#   <flavor>-<version>/pid               pid file written by the server (-d -p)
#   <flavor>-<version>-<port>/           the same for a server on a non-default port
#   elasticsearch.password               password of the Elasticsearch test user `edgewatch` (0600,
#                                        random on first start, the same for every version)
# EDGEWATCH_CLUSTER_CACHE overrides the root.
#
# Root: OpenSearch and Elasticsearch refuse to run as root. When run as root this script creates
# (once) the unprivileged system user `edgewatch-es` (override: EDGEWATCH_CLUSTER_USER), makes the
# instance directories owned by it and starts the server with `runuser -u edgewatch-es`. The
# repository path must be traversable by that user; if it is not (e.g. a clone under a 0700
# /root), the instance directories go to /var/tmp/edgewatch-clusters instead (the zip cache
# stays in the repository).
#
# Security:
#   Elasticsearch: the integ-test zip ships modules/x-pack-core and modules/x-pack-security, so
#   security is ON (xpack.security.enabled=true, HTTP without TLS on 127.0.0.1). A file-realm
#   superuser `edgewatch` is created with bin/elasticsearch-users; its random password is kept in
#   .cache/clusters/elasticsearch.password. Tests read it without printing it:
#     EDGEWATCH_ELASTICSEARCH_USERNAME=edgewatch
#     EDGEWATCH_ELASTICSEARCH_PASSWORD_FILE=$PWD/.cache/clusters/elasticsearch.password
#   (`scripts/cluster.sh env elasticsearch` prints these export lines). API keys and native
#   users/roles do NOT work: they live in the .security index, whose mapping needs the
#   analysis-common module that the zip lacks ("Unknown filter type [pattern_capture]");
#   the file realm (bin/elasticsearch-users) does not need that index.
#   OpenSearch: the integ-test zip has no security plugin (modules/ holds only transport-netty4),
#   so it runs without authentication. Installing opensearch-security would need TLS certs and a
#   security index bootstrap; the auth code path is proven against Elasticsearch instead.
#
# Both zips carry core modules only (no painless, ingest processors, ILM/ISM, data streams).
set -euo pipefail

die() { echo "cluster.sh: $*" >&2; exit 1; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${EDGEWATCH_CLUSTER_CACHE:-$REPO/.cache/clusters}"
RUN_USER="${EDGEWATCH_CLUSTER_USER:-edgewatch-es}"
TIMEOUT="${EDGEWATCH_CLUSTER_TIMEOUT:-240}"
HEAP_MIN="${EDGEWATCH_CLUSTER_HEAP_MIN:-512m}"
HEAP_MAX="${EDGEWATCH_CLUSTER_HEAP_MAX:-1g}"
JAVA17="${EDGEWATCH_JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
JAVA25="${EDGEWATCH_JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
ES_USER="edgewatch"

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

[ $# -ge 2 ] || usage
CMD="$1"; FLAVOR="$2"; VERSION="${3:-}"

case "$FLAVOR" in
  opensearch|os)
    FLAVOR=opensearch; VERSION="${VERSION:-2.19.6}"
    GROUP=org.opensearch.distribution.integ-test-zip
    DEF_HTTP=9200; DEF_TRANSPORT=9300
    ;;
  elasticsearch|es)
    FLAVOR=elasticsearch; VERSION="${VERSION:-8.19.21}"
    GROUP=org.elasticsearch.distribution.integ-test-zip
    DEF_HTTP=9201; DEF_TRANSPORT=9301
    ;;
  *) die "unknown flavor '$FLAVOR' (opensearch|elasticsearch)";;
esac
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bad version '$VERSION' (want N.N.N)"
MAJOR="${VERSION%%.*}"
HTTP_PORT="${EDGEWATCH_CLUSTER_HTTP_PORT:-$DEF_HTTP}"
TRANSPORT_PORT="${EDGEWATCH_CLUSTER_TRANSPORT_PORT:-$DEF_TRANSPORT}"
URL="http://127.0.0.1:$HTTP_PORT"
NAME="$FLAVOR-$VERSION"
ZIP="$CACHE/dist/$NAME.zip"
# A non-default port gets its own instance (data, pid) so two servers of one version coexist.
INSTANCE="$NAME"
[ "$HTTP_PORT" = "$DEF_HTTP" ] || INSTANCE="$NAME-$HTTP_PORT"

# Java: OpenSearch 3.x and Elasticsearch 9.x need Java 21+.
java_home() {
  if [ -n "${EDGEWATCH_CLUSTER_JAVA_HOME:-}" ]; then echo "$EDGEWATCH_CLUSTER_JAVA_HOME"; return; fi
  if { [ "$FLAVOR" = opensearch ] && [ "$MAJOR" -ge 3 ]; } || { [ "$FLAVOR" = elasticsearch ] && [ "$MAJOR" -ge 9 ]; }; then
    echo "$JAVA25"
  else
    echo "$JAVA17"
  fi
}

as_root() { [ "$(id -u)" = 0 ]; }

# Instance directory: in the repo cache when the run user can reach it.
instance_dir() {
  local d="$CACHE/$INSTANCE"
  if as_root && id "$RUN_USER" >/dev/null 2>&1; then
    if ! runuser -u "$RUN_USER" -- test -x "$CACHE" 2>/dev/null; then
      mkdir -p "$CACHE" 2>/dev/null || true
      if ! runuser -u "$RUN_USER" -- test -x "$CACHE" 2>/dev/null; then
        d="/var/tmp/edgewatch-clusters/$INSTANCE"
      fi
    fi
  fi
  echo "$d"
}

ensure_user() {
  as_root || return 0
  if ! id "$RUN_USER" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$RUN_USER" || die "cannot create user $RUN_USER"
    echo "cluster.sh: created system user $RUN_USER (servers refuse to run as root)"
  fi
}

# run_as CMD...: run as the unprivileged user when we are root.
run_as() {
  if as_root; then runuser -u "$RUN_USER" -- "$@"; else "$@"; fi
}

fetch() {
  if [ ! -s "$ZIP" ]; then
    mkdir -p "$CACHE/dist"
    local m2="$HOME/.m2/repository/${GROUP//.//}/$FLAVOR/$VERSION/$FLAVOR-$VERSION.zip"
    if [ -s "$m2" ]; then
      cp "$m2" "$ZIP.tmp" && mv "$ZIP.tmp" "$ZIP"
    else
      command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
      echo "cluster.sh: fetching $GROUP:$FLAVOR:$VERSION:zip from Maven Central"
      mvn -B -q dependency:copy -Dartifact="$GROUP:$FLAVOR:$VERSION:zip" \
        -DoutputDirectory="$CACHE/dist" -Dmdep.overWriteIfNewer=true \
        || die "mvn could not fetch $GROUP:$FLAVOR:$VERSION:zip"
      [ -s "$ZIP" ] || die "mvn reported success but $ZIP is missing"
    fi
  fi
  local inst; inst="$(instance_dir)"
  if [ ! -x "$inst/home/bin/$FLAVOR" ]; then
    rm -rf "$inst/home" "$inst/unpack"
    mkdir -p "$inst/unpack"
    unzip -q "$ZIP" -d "$inst/unpack" || die "cannot unzip $ZIP"
    mv "$inst/unpack/$NAME" "$inst/home" || die "unexpected zip layout in $ZIP"
    rm -rf "$inst/unpack"
  fi
}

configure() {
  local inst="$1" conf
  mkdir -p "$inst/data" "$inst/logs" "$inst/tmp"
  conf="$inst/home/config/$FLAVOR.yml"
  {
    echo "# written by scripts/cluster.sh — edits are overwritten on start"
    echo "cluster.name: edgewatch-test-$FLAVOR"
    echo "node.name: edgewatch-node-1"
    echo "network.host: 127.0.0.1"
    echo "http.port: $HTTP_PORT"
    echo "transport.port: $TRANSPORT_PORT"
    echo "discovery.type: single-node"
    echo "path.data: $inst/data"
    echo "path.logs: $inst/logs"
    echo "cluster.routing.allocation.disk.threshold_enabled: false"
    echo "action.destructive_requires_name: false"
    if [ "$FLAVOR" = elasticsearch ]; then
      echo "xpack.security.enabled: true"
      echo "xpack.security.http.ssl.enabled: false"
      echo "xpack.security.transport.ssl.enabled: false"
      echo "xpack.security.authc.api_key.enabled: true"
    fi
  } > "$conf"
  if as_root; then chown -R "$RUN_USER:" "$inst"; fi
  if [ "$FLAVOR" = elasticsearch ]; then es_user "$inst"; fi
}

# es_user creates the file-realm superuser once and records its credentials.
es_user() {
  local inst="$1" cred="$CACHE/elasticsearch.password" pw
  mkdir -p "$CACHE"
  if [ ! -s "$cred" ]; then
    pw="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)"
    (umask 077; echo "$pw" > "$cred")
  fi
  pw="$(head -n1 "$cred")"
  chmod 600 "$cred"
  # The stamp remembers which credentials the file realm holds; re-create the user on change.
  local stamp="$inst/home/config/.edgewatch-credentials.sha256" sum
  sum="$(sha256sum "$cred" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    local tool=(env ES_JAVA_HOME="$(java_home)" ES_PATH_CONF="$inst/home/config" "$inst/home/bin/elasticsearch-users")
    if grep -q "^$ES_USER:" "$inst/home/config/users" 2>/dev/null; then
      run_as "${tool[@]}" userdel "$ES_USER" >/dev/null || die "elasticsearch-users userdel failed"
    fi
    run_as "${tool[@]}" useradd "$ES_USER" -p "$pw" -r superuser >/dev/null \
      || die "elasticsearch-users useradd failed"
    echo "$sum" > "$stamp"
  fi
}

es_auth() {
  if [ "$FLAVOR" = elasticsearch ] && [ -s "$CACHE/elasticsearch.password" ]; then
    printf -- '-u\n%s:%s\n' "$ES_USER" "$(head -n1 "$CACHE/elasticsearch.password")"
  fi
}

http() { # http PATH [curl args...]
  local path="$1"; shift
  local auth=(); mapfile -t auth < <(es_auth)
  curl -sS --max-time 10 "${auth[@]}" "$@" "$URL$path"
}

pid_alive() {
  local inst; inst="$(instance_dir)"
  [ -s "$inst/pid" ] && kill -0 "$(cat "$inst/pid")" 2>/dev/null
}

server_log() { local inst; inst="$(instance_dir)"; echo "$inst/logs/edgewatch-test-$FLAVOR.log"; }

tail_logs() {
  local inst; inst="$(instance_dir)"
  echo "---- last lines of $(server_log) ----" >&2
  tail -n "${1:-60}" "$(server_log)" 2>/dev/null >&2 || echo "(no server log)" >&2
  if [ -s "$inst/logs/startup.out" ]; then
    echo "---- last lines of $inst/logs/startup.out ----" >&2
    tail -n 30 "$inst/logs/startup.out" >&2
  fi
}

healthy() {
  local body
  body="$(http "/_cluster/health?wait_for_status=yellow&timeout=2s" 2>/dev/null)" || return 1
  [[ "$body" == *'"status":"green"'* || "$body" == *'"status":"yellow"'* ]]
}

# check_dev_null: the servers' start scripts write to /dev/null as the unprivileged user. A
# program that "atomically" renames a temp file over an --out /dev/null target replaces the
# device with a root-owned regular file, and every later start fails with "Permission denied".
check_dev_null() {
  [ -c /dev/null ] && return 0
  if as_root; then
    echo "cluster.sh: /dev/null is not a character device (replaced by a regular file?); restoring it" >&2
    rm -f /dev/null && mknod -m 666 /dev/null c 1 3 || die "cannot restore /dev/null"
  else
    die "/dev/null is not a character device; as root: rm -f /dev/null && mknod -m 666 /dev/null c 1 3"
  fi
}

cmd_start() {
  check_dev_null
  local inst; inst="$(instance_dir)"
  if pid_alive && healthy; then
    echo "cluster.sh: $NAME already running at $URL (pid $(cat "$inst/pid"))"
    return 0
  fi
  if ! pid_alive && curl -s --max-time 3 -o /dev/null "$URL/" 2>/dev/null; then
    die "port $HTTP_PORT is already served by another process (not $NAME); stop it or set EDGEWATCH_CLUSTER_HTTP_PORT"
  fi
  ensure_user
  inst="$(instance_dir)"
  fetch
  local jh; jh="$(java_home)"
  [ -x "$jh/bin/java" ] || die "no Java at $jh (set EDGEWATCH_CLUSTER_JAVA_HOME)"
  if ! pid_alive; then
    configure "$inst"
    rm -f "$inst/pid"
    local opts="-Xms$HEAP_MIN -Xmx$HEAP_MAX"
    echo "cluster.sh: starting $NAME on $URL (java $jh, heap $HEAP_MIN..$HEAP_MAX)"
    if [ "$FLAVOR" = opensearch ]; then
      run_as env OPENSEARCH_JAVA_HOME="$jh" JAVA_HOME="$jh" OPENSEARCH_JAVA_OPTS="$opts" \
        OPENSEARCH_PATH_CONF="$inst/home/config" OPENSEARCH_TMPDIR="$inst/tmp" \
        "$inst/home/bin/opensearch" -d -p "$inst/pid" >"$inst/logs/startup.out" 2>&1 \
        || { tail_logs; kill_started; die "$NAME failed to start"; }
    else
      run_as env ES_JAVA_HOME="$jh" JAVA_HOME="$jh" ES_JAVA_OPTS="$opts" \
        ES_PATH_CONF="$inst/home/config" ES_TMPDIR="$inst/tmp" \
        "$inst/home/bin/elasticsearch" -d -p "$inst/pid" >"$inst/logs/startup.out" 2>&1 \
        || { tail_logs; kill_started; die "$NAME failed to start"; }
    fi
  fi
  local deadline=$((SECONDS + TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if healthy; then
      echo "cluster.sh: $NAME is up at $URL (pid $(cat "$inst/pid" 2>/dev/null), $(version_line))"
      return 0
    fi
    if [ -s "$inst/pid" ] && ! pid_alive; then
      tail_logs; die "$NAME exited during startup"
    fi
    sleep 2
  done
  tail_logs
  kill_started
  die "$NAME did not reach yellow/green within ${TIMEOUT}s"
}

# kill_started stops a server this start left behind after a failure (no orphan JVMs).
kill_started() {
  local inst; inst="$(instance_dir)"
  if pid_alive; then
    kill -TERM "$(cat "$inst/pid")" 2>/dev/null || true
    sleep 5
    pid_alive && kill -KILL "$(cat "$inst/pid")" 2>/dev/null || true
  fi
  rm -f "$inst/pid"
}

# GET / is not served by the Elasticsearch integ-test zip (its rest-root module is missing:
# 405), so the version comes from the local node's info on both flavors.
version_line() {
  http "/_nodes/_local?filter_path=nodes.*.version" 2>/dev/null | sed -n 's/.*"version":"\([^"]*\)".*/version \1/p'
}

cmd_stop() {
  local inst; inst="$(instance_dir)"
  if ! pid_alive; then
    rm -f "$inst/pid"
    echo "cluster.sh: $NAME not running"
    return 0
  fi
  local pid; pid="$(cat "$inst/pid")"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$inst/pid"; echo "cluster.sh: $NAME stopped"; return 0; }
    sleep 1
  done
  echo "cluster.sh: $NAME did not stop within 60s, killing pid $pid" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$inst/pid"
}

cmd_status() {
  local inst; inst="$(instance_dir)"
  if pid_alive; then
    local h; h="$(http "/_cluster/health" 2>/dev/null | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')"
    echo "$NAME running pid $(cat "$inst/pid") at $URL health=${h:-unreachable} $(version_line)"
    [ -n "$h" ] || return 1
  else
    echo "$NAME stopped"
    return 3
  fi
}

cmd_env() {
  local inst; inst="$(instance_dir)"
  local up; up="$(echo "$FLAVOR" | tr a-z A-Z)"
  local cred="$CACHE/elasticsearch.password"
  echo "export EDGEWATCH_${up}_URL=$URL"
  if [ "$FLAVOR" = elasticsearch ] && [ -s "$cred" ]; then
    echo "export EDGEWATCH_${up}_USERNAME=$ES_USER"
    echo "export EDGEWATCH_${up}_PASSWORD_FILE=$(cd "$(dirname "$cred")" && pwd)/$(basename "$cred")"
  fi
}

case "$CMD" in
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  url)    echo "$URL" ;;
  env)    cmd_env ;;
  fetch)  ensure_user; fetch; echo "cluster.sh: $NAME unpacked in $(instance_dir)/home" ;;
  log)    tail_logs 100 2>&1 ;;
  *) usage ;;
esac
