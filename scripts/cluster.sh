#!/usr/bin/env bash
# scripts/cluster.sh — real OpenSearch / Elasticsearch test servers on 127.0.0.1.
#
# Usage:
#   scripts/cluster.sh start  opensearch|elasticsearch [version] [--secure | --nodes N]
#   scripts/cluster.sh stop   opensearch|elasticsearch [version] [--secure | --nodes N]
#   scripts/cluster.sh status opensearch|elasticsearch [version] [--secure | --nodes N]
#   scripts/cluster.sh url    opensearch|elasticsearch [version] [--secure | --nodes N]
#   scripts/cluster.sh env    opensearch|elasticsearch [version] [--secure | --nodes N]   # export lines
#   scripts/cluster.sh fetch  opensearch|elasticsearch [version] [--secure | --nodes N]   # download + unpack
#   scripts/cluster.sh log    opensearch|elasticsearch [version] [--secure | --nodes N [I]]
#   scripts/cluster.sh stop-node  opensearch --nodes N I [--kill]   # SIGTERM (or kill -9) node I of N
#   scripts/cluster.sh start-node opensearch --nodes N I            # start node I again, wait until it joined
#
# Three kinds of servers, each with its own ports, data and pid files, so all can run at once:
#   plain     (default)   opensearch 2.19.6 http 9200 / transport 9300, no security
#                         elasticsearch 8.19.21 http 9201 / transport 9301, HTTP, file-realm superuser
#   --secure              opensearch 2.19.4 + opensearch-security, TLS, https://127.0.0.1:9210 / 9310
#                         elasticsearch 8.19.21, TLS, https://127.0.0.1:9211 / 9311, API keys work
#   --nodes 3             opensearch 2.19.6 three-node cluster, no security, for fault tests:
#                         node I has http 9219+I / transport 9319+I (9220-9222 / 9320-9322)
#
# Versions (Maven Central integration-test distributions, fetched with `mvn dependency:copy`):
#   opensearch     2.19.6  default (Java 17; newest 2.x served)
#                  2.19.4  --secure default: the newest org.opensearch.plugin:opensearch-security zip
#                          served is 2.19.4.0 (2.19.6.0 and 3.x security zips are not served)
#                  3.6.0   optional (newest 3.x served; needs Java 21+, runs on Temurin 25)
#   elasticsearch  8.19.21 default (Java 17; newest 8.x served; 8.19.7 also starts)
#                  9.1.0   optional (needs Java 21+, runs on Temurin 25; 9.5.6 is not served)
# Maven's metadata for these artifacts is incomplete (it omits 8.19.7 and every 9.x that is
# served), so a version is "served" when `mvn dependency:copy` fetches it. A zip already in the
# local Maven repository (EDGEWATCH_M2_REPO, default ~/.m2/repository) is copied, not fetched.
#
# Ports: override with EDGEWATCH_CLUSTER_HTTP_PORT / EDGEWATCH_CLUSTER_TRANSPORT_PORT (for --nodes:
# the ports of node 1; node I adds I-1). Heap 512m..1g (EDGEWATCH_CLUSTER_HEAP_MIN/_MAX), per node
# 256m..384m with --nodes (EDGEWATCH_CLUSTER_NODE_HEAP_MIN/_MAX).
# Start waits for yellow/green (with --nodes: for all N nodes in the cluster) up to
# EDGEWATCH_CLUSTER_TIMEOUT seconds (default 240) and on failure prints the tail of the server
# log and exits non-zero. Start is idempotent: a server of ours already answering on the port is
# "already running".
#
# Layout: everything lives under .cache/clusters/ in the repository (gitignored):
#   dist/<artifact>-<version>.zip        the downloaded zips (server, security plugin)
#   <flavor>-<version>/home/             unpacked distribution (config rewritten by this script)
#   <flavor>-<version>/{data,logs,tmp}/  node data, logs, JVM temp
#   <flavor>-<version>/pid               pid file written by the server (-d -p)
#   <flavor>-<version>-<port>/           the same for a server on a non-default port
#   elasticsearch.password               password of the plain Elasticsearch superuser `edgewatch`
#                                        (0600, random on first start, the same for every version)
#   secure/<flavor>-<version>/           the secured servers (same layout as above)
#   secure/tls/                          the test CA and certificates (ca.pem is what clients trust)
#   secure/credentials/<flavor>/         passwords (0600, random per machine, never printed) and,
#                                        for Elasticsearch, the detector's API key
#   secure/build/                        the Elasticsearch analysis shim plugin, built once
#   nodes<N>/opensearch-<version>/       one shared home/ and node-<I>/{config,data,logs,tmp,pid}
# EDGEWATCH_CLUSTER_CACHE overrides the root.
#
# Root: OpenSearch and Elasticsearch refuse to run as root. When run as root this script creates
# (once) the unprivileged system user `edgewatch-es` (override: EDGEWATCH_CLUSTER_USER), makes the
# instance directories owned by it and starts the server with `runuser -u edgewatch-es`. The
# repository path must be traversable by that user; if it is not (e.g. a clone under a 0700
# /root), the instance directories go to /var/tmp/edgewatch-clusters instead (the zip cache and
# the credentials stay in the repository).
#
# Plain servers:
#   Elasticsearch: the integ-test zip ships modules/x-pack-core and modules/x-pack-security, so
#   security is ON (xpack.security.enabled=true, HTTP without TLS on 127.0.0.1). A file-realm
#   superuser `edgewatch` is created with bin/elasticsearch-users; its random password is kept in
#   .cache/clusters/elasticsearch.password. Tests read it without printing it:
#     EDGEWATCH_ELASTICSEARCH_USERNAME=edgewatch
#     EDGEWATCH_ELASTICSEARCH_PASSWORD_FILE=$PWD/.cache/clusters/elasticsearch.password
#   (`scripts/cluster.sh env elasticsearch` prints these export lines). API keys and native
#   users/roles do NOT work on the plain server: they live in the .security index, whose mapping
#   needs the analysis-common module that the zip lacks ("Unknown filter type [pattern_capture]");
#   the file realm (bin/elasticsearch-users) does not need that index. The secured server has them.
#   OpenSearch: the integ-test zip has no security plugin (modules/ holds only transport-netty4),
#   so the plain server runs without authentication.
#
# Secured servers (--secure):
#   TLS on HTTP and transport with a test CA this script makes with openssl (secure/tls/: ca.pem,
#   node.pem for localhost/127.0.0.1/::1, admin.pem = the OpenSearch admin client certificate).
#   Three users on each, with the roles in dashboards/security/*.json:
#     edgewatch_admin      superuser / all_access: loads test data, creates API keys
#     edgewatch_detector   the least-privileged detector role (dashboards/security/*-detector.json)
#     edgewatch_installer  the installer role (dashboards/security/*-installer.json)
#   OpenSearch: opensearch-security <version>.0 installed offline; users, roles and role mappings
#   from internal_users.yml / roles.yml / roles_mapping.yml (written here; the roles are the JSON
#   files), loaded into the security index on first start; when they change later,
#   plugins/opensearch-security/tools/securityadmin.sh re-uploads them with the admin certificate.
#   Elasticsearch: file-realm users; the roles are created through the role API from the JSON
#   files on every start; scripts/testplugins/es-analysis-shim (a test-only plugin, see its
#   README) is built with javac against the distribution's jars and installed so that the
#   .security index — API keys, native roles — works. Start also makes sure the detector's API
#   key (an API key with the detector role, created by the admin) is valid, and creates a new one
#   when it was invalidated or has expired.
#   `env <flavor> --secure` prints, with EDGEWATCH_<FLAVOR>_SECURE_ as the prefix so that the
#   secured and the plain servers can be used by one test process:
#     EDGEWATCH_<FLAVOR>_SECURE_URL                       https://127.0.0.1:<port>
#     EDGEWATCH_<FLAVOR>_SECURE_CA_FILE                   the CA to trust (PEM)
#     EDGEWATCH_<FLAVOR>_SECURE_ADMIN_USERNAME            + _ADMIN_PASSWORD_FILE (test data)
#     EDGEWATCH_<FLAVOR>_SECURE_USERNAME                  + _PASSWORD_FILE (the detector)
#     EDGEWATCH_<FLAVOR>_SECURE_INSTALLER_USERNAME        + _INSTALLER_PASSWORD_FILE
#     EDGEWATCH_ELASTICSEARCH_SECURE_API_KEY_FILE         the detector's API key, the "encoded"
#                                                         value: send "Authorization: ApiKey <it>"
#   Each file holds one line; none is ever printed.
#
# Several nodes (--nodes N, OpenSearch only): N cluster-manager-eligible data nodes on 127.0.0.1
# with discovery.seed_hosts and cluster.initial_cluster_manager_nodes, from one unpacked home.
# `env opensearch --nodes 3` prints EDGEWATCH_OPENSEARCH_3NODE_URL (node 1) and
# EDGEWATCH_OPENSEARCH_3NODE_URLS (every node, comma-separated). stop-node stops one node (SIGTERM,
# waits until it is gone; --kill sends SIGKILL instead), start-node starts it again and waits
# until the cluster has all N nodes and is yellow/green.
#
# Both zips carry core modules only (no painless, ingest processors, ILM/ISM).
set -euo pipefail

die() { echo "cluster.sh: $*" >&2; exit 1; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${EDGEWATCH_CLUSTER_CACHE:-$REPO/.cache/clusters}"
case "$CACHE" in /*) ;; *) CACHE="$PWD/$CACHE" ;; esac
RUN_USER="${EDGEWATCH_CLUSTER_USER:-edgewatch-es}"
TIMEOUT="${EDGEWATCH_CLUSTER_TIMEOUT:-240}"
HEAP_MIN="${EDGEWATCH_CLUSTER_HEAP_MIN:-512m}"
HEAP_MAX="${EDGEWATCH_CLUSTER_HEAP_MAX:-1g}"
JAVA17="${EDGEWATCH_JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
JAVA25="${EDGEWATCH_JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
M2_REPO="${EDGEWATCH_M2_REPO:-$HOME/.m2/repository}"
ES_USER="edgewatch"
SECURITY_DIR="$REPO/dashboards/security"
SHIM_SRC="$REPO/scripts/testplugins/es-analysis-shim"
# Users of the secured servers (the role names are the same as the user names' suffixes).
ADMIN_USER=edgewatch_admin
DETECTOR_USER=edgewatch_detector
INSTALLER_USER=edgewatch_installer

usage() {
  sed -n '/^# Usage:/,/^#$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

[ $# -ge 2 ] || usage
CMD="$1"; FLAVOR="$2"; shift 2
VERSION=""; MODE=plain; NODES=1; NODE=""; KILL9=0
while [ $# -gt 0 ]; do
  case "$1" in
    --secure) MODE=secure ;;
    --nodes) [ $# -ge 2 ] || die "--nodes needs a number"; NODES="$2"; shift ;;
    --nodes=*) NODES="${1#--nodes=}" ;;
    --kill|-9) KILL9=1 ;;
    [0-9]*.*) VERSION="$1" ;;
    [0-9]*) NODE="$1" ;;
    *) die "unknown argument '$1'" ;;
  esac
  shift
done
[[ "$NODES" =~ ^[1-9]$ ]] || die "bad --nodes '$NODES' (1..9)"
if [ "$NODES" -gt 1 ]; then
  [ "$MODE" = plain ] || die "--nodes and --secure do not combine"
  MODE=multi
fi
case "$CMD" in
  stop-node|start-node)
    [ "$MODE" = multi ] || die "$CMD needs --nodes N"
    if ! [[ "$NODE" =~ ^[1-9]$ ]] || [ "$NODE" -gt "$NODES" ]; then die "$CMD needs a node number 1..$NODES"; fi ;;
esac

case "$FLAVOR" in
  opensearch|os)
    FLAVOR=opensearch
    GROUP=org.opensearch.distribution.integ-test-zip
    case "$MODE" in
      plain)  VERSION="${VERSION:-2.19.6}"; DEF_HTTP=9200; DEF_TRANSPORT=9300 ;;
      secure) VERSION="${VERSION:-2.19.4}"; DEF_HTTP=9210; DEF_TRANSPORT=9310 ;;
      multi)  VERSION="${VERSION:-2.19.6}"; DEF_HTTP=9220; DEF_TRANSPORT=9320 ;;
    esac
    ;;
  elasticsearch|es)
    FLAVOR=elasticsearch
    GROUP=org.elasticsearch.distribution.integ-test-zip
    case "$MODE" in
      plain)  VERSION="${VERSION:-8.19.21}"; DEF_HTTP=9201; DEF_TRANSPORT=9301 ;;
      secure) VERSION="${VERSION:-8.19.21}"; DEF_HTTP=9211; DEF_TRANSPORT=9311 ;;
      multi)  die "--nodes is implemented for opensearch only" ;;
    esac
    ;;
  *) die "unknown flavor '$FLAVOR' (opensearch|elasticsearch)";;
esac
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bad version '$VERSION' (want N.N.N)"
MAJOR="${VERSION%%.*}"
HTTP_PORT="${EDGEWATCH_CLUSTER_HTTP_PORT:-$DEF_HTTP}"
TRANSPORT_PORT="${EDGEWATCH_CLUSTER_TRANSPORT_PORT:-$DEF_TRANSPORT}"
NAME="$FLAVOR-$VERSION"
ZIP="$CACHE/dist/$NAME.zip"
UPPER="$(echo "$FLAVOR" | tr '[:lower:]' '[:upper:]')"
# A non-default port gets its own instance (data, pid) so two servers of one version coexist.
case "$MODE" in
  plain)  INSTANCE="$NAME"; CLUSTER_NAME="edgewatch-test-$FLAVOR"; SCHEME=http ;;
  secure) INSTANCE="secure/$NAME"; CLUSTER_NAME="edgewatch-secure-$FLAVOR"; SCHEME=https ;;
  multi)  INSTANCE="nodes$NODES/$NAME"; CLUSTER_NAME="edgewatch-${NODES}node-$FLAVOR"; SCHEME=http ;;
esac
[ "$HTTP_PORT" = "$DEF_HTTP" ] || INSTANCE="$INSTANCE-$HTTP_PORT"
URL="$SCHEME://127.0.0.1:$HTTP_PORT"
case "$MODE" in
  plain) LABEL="$NAME" ;; secure) LABEL="$NAME (secure)" ;; multi) LABEL="$NAME ($NODES nodes)" ;;
esac
# Secured servers: TLS material and credentials (kept in the repository cache, root-only files).
TLS="$CACHE/secure/tls"
CRED="$CACHE/secure/credentials/$FLAVOR"

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

# node_dir [I]: where one node keeps its pid, logs and data: the instance itself, or node-I
# with --nodes.
node_dir() {
  local inst; inst="$(instance_dir)"
  if [ "$MODE" = multi ]; then echo "$inst/node-${1:-1}"; else echo "$inst"; fi
}

node_http_port() { echo $((HTTP_PORT + ${1:-1} - 1)); }
node_transport_port() { echo $((TRANSPORT_PORT + ${1:-1} - 1)); }
node_url() { echo "$SCHEME://127.0.0.1:$(node_http_port "${1:-1}")"; }

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

# fetch_zip GROUP ARTIFACT VERSION: the zip in dist/, from the local Maven repository or
# Maven Central.
fetch_zip() {
  local group="$1" artifact="$2" version="$3"
  local dest="$CACHE/dist/$artifact-$version.zip"
  [ -s "$dest" ] && return 0
  mkdir -p "$CACHE/dist"
  local m2="$M2_REPO/${group//.//}/$artifact/$version/$artifact-$version.zip"
  if [ -s "$m2" ]; then
    cp "$m2" "$dest.tmp" && mv "$dest.tmp" "$dest"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  echo "cluster.sh: fetching $group:$artifact:$version:zip from Maven Central"
  local repo=()
  [ -z "${EDGEWATCH_M2_REPO:-}" ] || repo=("-Dmaven.repo.local=$EDGEWATCH_M2_REPO")
  mvn -B -q -Dstyle.color=never "${repo[@]}" dependency:copy -Dartifact="$group:$artifact:$version:zip" \
    -DoutputDirectory="$CACHE/dist" -Dmdep.overWriteIfNewer=true \
    || die "mvn could not fetch $group:$artifact:$version:zip"
  [ -s "$dest" ] || die "mvn reported success but $dest is missing"
}

fetch() {
  fetch_zip "$GROUP" "$FLAVOR" "$VERSION"
  if [ "$MODE" = secure ] && [ "$FLAVOR" = opensearch ]; then
    fetch_zip org.opensearch.plugin opensearch-security "$VERSION.0"
  fi
  local inst; inst="$(instance_dir)"
  if [ ! -x "$inst/home/bin/$FLAVOR" ]; then
    rm -rf "${inst:?}/home" "$inst/unpack"
    mkdir -p "$inst/unpack"
    unzip -q "$ZIP" -d "$inst/unpack" || die "cannot unzip $ZIP"
    mv "$inst/unpack/$NAME" "$inst/home" || die "unexpected zip layout in $ZIP"
    rm -rf "$inst/unpack"
  fi
  if [ "$MODE" = secure ]; then
    if [ "$FLAVOR" = opensearch ]; then install_security_plugin "$inst"; else install_shim "$inst"; fi
  fi
}

configure() {
  local inst="$1" conf
  mkdir -p "$inst/data" "$inst/logs" "$inst/tmp"
  conf="$inst/home/config/$FLAVOR.yml"
  {
    echo "# written by scripts/cluster.sh — edits are overwritten on start"
    echo "cluster.name: $CLUSTER_NAME"
    echo "node.name: edgewatch-node-1"
    echo "network.host: 127.0.0.1"
    echo "http.port: $HTTP_PORT"
    echo "transport.port: $TRANSPORT_PORT"
    echo "discovery.type: single-node"
    echo "path.data: $inst/data"
    echo "path.logs: $inst/logs"
    echo "cluster.routing.allocation.disk.threshold_enabled: false"
    echo "action.destructive_requires_name: false"
    if [ "$FLAVOR" = elasticsearch ] && [ "$MODE" = plain ]; then
      echo "xpack.security.enabled: true"
      echo "xpack.security.http.ssl.enabled: false"
      echo "xpack.security.transport.ssl.enabled: false"
      echo "xpack.security.authc.api_key.enabled: true"
    fi
  } > "$conf"
  if [ "$MODE" = secure ]; then
    ensure_tls
    ensure_passwords
    mkdir -p "$inst/home/config/certs"
    cp "$TLS/ca.pem" "$TLS/node.pem" "$TLS/node-key.pem" "$inst/home/config/certs/"
    if [ "$FLAVOR" = opensearch ]; then
      cp "$TLS/admin.pem" "$TLS/admin-key.pem" "$inst/home/config/certs/"
      configure_secure_opensearch "$inst" >> "$conf"
    else
      configure_secure_elasticsearch >> "$conf"
    fi
  fi
  if as_root; then chown -R "$RUN_USER:" "$inst"; fi
  chmod 600 "$inst/home/config/certs/"*-key.pem "$inst/home/config/opensearch-security/internal_users.yml" 2>/dev/null || true
  if [ "$FLAVOR" = elasticsearch ]; then
    if [ "$MODE" = secure ]; then
      es_file_user "$inst" "$ADMIN_USER" superuser "$CRED/admin.password"
      es_file_user "$inst" "$DETECTOR_USER" "$DETECTOR_USER" "$CRED/detector.password"
      es_file_user "$inst" "$INSTALLER_USER" "$INSTALLER_USER" "$CRED/installer.password"
    else
      es_user "$inst"
    fi
  fi
}

# new_secret FILE: a random 24-character password in FILE (0600) unless FILE has one.
new_secret() {
  local f="$1"
  if [ ! -s "$f" ]; then
    mkdir -p "$(dirname "$f")"
    (umask 077; head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24 > "$f.tmp" && echo >> "$f.tmp" && mv "$f.tmp" "$f")
  fi
  chmod 600 "$f"
}

# es_user creates the plain server's file-realm superuser once and records its credentials.
es_user() {
  local cred="$CACHE/elasticsearch.password"
  mkdir -p "$CACHE"
  new_secret "$cred"
  es_file_user "$1" "$ES_USER" superuser "$cred" .edgewatch-credentials.sha256
}

# es_file_user INST USER ROLE PASSWORD_FILE [STAMP]: the file-realm user USER with ROLE and the
# password in PASSWORD_FILE (given on stdin, never on a command line). A stamp remembers which
# credentials the realm holds; the user is re-created when they change.
es_file_user() {
  local inst="$1" user="$2" role="$3" cred="$4" sum pw
  local stamp="$inst/home/config/${5:-.edgewatch-$user.sha256}"
  sum="$(printf '%s %s\n' "$role" "$(sha256sum "$cred" | cut -d' ' -f1)" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    local tool=(env ES_JAVA_HOME="$(java_home)" ES_PATH_CONF="$inst/home/config" "$inst/home/bin/elasticsearch-users")
    if grep -q "^$user:" "$inst/home/config/users" 2>/dev/null; then
      run_as "${tool[@]}" userdel "$user" >/dev/null || die "elasticsearch-users userdel $user failed"
    fi
    pw="$(head -n1 "$cred")"
    printf '%s\n%s\n' "$pw" "$pw" | run_as "${tool[@]}" useradd "$user" -r "$role" >/dev/null 2>&1 \
      || die "elasticsearch-users useradd $user failed"
    echo "$sum" > "$stamp"
  fi
}

# ---- secured servers ----

# ensure_tls makes the test CA, the node certificate (localhost, 127.0.0.1, ::1) and the admin
# client certificate once; certificates that expire within 30 days are made again.
ensure_tls() {
  command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
  mkdir -p "$TLS"
  local d="$TLS"
  if [ ! -s "$d/ca.pem" ] || ! openssl x509 -checkend 2592000 -noout -in "$d/ca.pem" >/dev/null; then
    rm -f "$d"/*.pem "$d"/*.srl
    (umask 077; openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
      -subj "/O=Edgewatch/OU=Test/CN=Edgewatch Test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null) || die "openssl: cannot make the CA"
  fi
  leaf_cert node "/O=Edgewatch/OU=Test/CN=localhost" \
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
extendedKeyUsage=serverAuth,clientAuth"
  leaf_cert admin "/O=Edgewatch/OU=Test/CN=edgewatch-admin" "extendedKeyUsage=clientAuth"
  chmod 644 "$d"/ca.pem "$d"/node.pem "$d"/admin.pem
}

# leaf_cert NAME SUBJECT EXTENSIONS: NAME.pem + NAME-key.pem (PKCS#8, as OpenSearch needs) signed
# by the CA, unless a valid one is there.
leaf_cert() {
  local n="$1" d="$TLS"
  if [ -s "$d/$n.pem" ] && openssl x509 -checkend 2592000 -noout -in "$d/$n.pem" >/dev/null \
      && openssl verify -CAfile "$d/ca.pem" "$d/$n.pem" >/dev/null 2>&1; then
    return 0
  fi
  (umask 077; openssl req -newkey rsa:2048 -nodes -sha256 -subj "$2" \
    -keyout "$d/$n-key.pem" -out "$d/$n.csr" 2>/dev/null) || die "openssl: cannot make the $n key"
  printf '%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' "$3" > "$d/$n.ext"
  openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial \
    -sha256 -days 825 -extfile "$d/$n.ext" -out "$d/$n.pem" 2>/dev/null || die "openssl: cannot sign the $n certificate"
  rm -f "$d/$n.csr" "$d/$n.ext"
}

ensure_passwords() {
  new_secret "$CRED/admin.password"
  new_secret "$CRED/detector.password"
  new_secret "$CRED/installer.password"
}

# role_json ROLE [--no-description]: the role document from dashboards/security/ on one line (as
# YAML flow, too). An API key's role descriptor must not have "description" (Elasticsearch
# answers 400 "unexpected field [description]"); the documents keep it on a line of its own.
role_json() {
  local f="$SECURITY_DIR/$FLAVOR-$1.json"
  [ -s "$f" ] || die "missing role document $f"
  if [ "${2:-}" = --no-description ]; then
    grep -v '^ *"description": ' "$f" | tr -d '\n' | tr -s ' '
  else
    tr -d '\n' < "$f" | tr -s ' '
  fi
}

install_security_plugin() {
  local inst="$1"
  [ -d "$inst/home/plugins/opensearch-security" ] && return 0
  echo "cluster.sh: installing opensearch-security $VERSION.0 into $NAME"
  env OPENSEARCH_JAVA_HOME="$(java_home)" JAVA_HOME="$(java_home)" OPENSEARCH_PATH_CONF="$inst/home/config" \
    "$inst/home/bin/opensearch-plugin" install --batch "file://$CACHE/dist/opensearch-security-$VERSION.0.zip" \
    >"$inst/plugin-install.out" 2>&1 || { cat "$inst/plugin-install.out" >&2; die "opensearch-plugin install failed"; }
  chmod +x "$inst/home/plugins/opensearch-security/tools/"*.sh
}

# configure_secure_opensearch INST: prints the security part of opensearch.yml and writes the
# security plugin's configuration (users, roles, mappings) under config/opensearch-security/.
configure_secure_opensearch() {
  local inst="$1"
  local sec="$inst/home/config/opensearch-security"
  cat <<'EOF'
plugins.security.ssl.transport.pemcert_filepath: certs/node.pem
plugins.security.ssl.transport.pemkey_filepath: certs/node-key.pem
plugins.security.ssl.transport.pemtrustedcas_filepath: certs/ca.pem
plugins.security.ssl.transport.enforce_hostname_verification: false
plugins.security.ssl.http.enabled: true
plugins.security.ssl.http.pemcert_filepath: certs/node.pem
plugins.security.ssl.http.pemkey_filepath: certs/node-key.pem
plugins.security.ssl.http.pemtrustedcas_filepath: certs/ca.pem
plugins.security.allow_default_init_securityindex: true
plugins.security.authcz.admin_dn: ["CN=edgewatch-admin,OU=Test,O=Edgewatch"]
plugins.security.nodes_dn: ["CN=localhost,OU=Test,O=Edgewatch"]
plugins.security.audit.type: noop
plugins.security.restapi.roles_enabled: ["all_access"]
plugins.security.system_indices.enabled: true
EOF
  {
    echo '_meta: {type: "config", config_version: 2}'
    echo 'config:'
    echo '  dynamic:'
    echo '    http: {anonymous_auth_enabled: false}'
    echo '    authc:'
    echo '      basic_internal_auth_domain:'
    echo '        http_enabled: true'
    echo '        transport_enabled: true'
    echo '        order: 0'
    echo '        http_authenticator: {type: basic, challenge: true}'
    echo '        authentication_backend: {type: intern}'
  } > "$sec/config.yml"
  {
    echo '_meta: {type: "internalusers", config_version: 2}'
    os_user_yml "$ADMIN_USER" admin "test data loader, all_access"
    os_user_yml "$DETECTOR_USER" detector "edgewatch detector (least privilege)"
    os_user_yml "$INSTALLER_USER" installer "edgewatch installer"
  } > "$sec/internal_users.yml"
  os_roles_yml "$sec"
  {
    echo '_meta: {type: "rolesmapping", config_version: 2}'
    echo "all_access: {reserved: false, users: [\"$ADMIN_USER\"]}"
    echo "$DETECTOR_USER: {users: [\"$DETECTOR_USER\"]}"
    echo "$INSTALLER_USER: {users: [\"$INSTALLER_USER\"]}"
  } > "$sec/roles_mapping.yml"
}

# os_user_yml USER KEY DESCRIPTION: one internal_users.yml entry. The bcrypt hash is computed
# with the plugin's hash tool once per password and cached beside the password.
os_user_yml() {
  local user="$1" key="$2" hash
  local pwf="$CRED/$key.password" hf="$CRED/$key.hash"
  if [ ! -s "$hf" ] || [ "$(sed -n 2p "$hf")" != "$(sha256sum "$pwf" | cut -d' ' -f1)" ]; then
    local inst; inst="$(instance_dir)"
    hash="$(EW_PW="$(head -n1 "$pwf")" OPENSEARCH_JAVA_HOME="$(java_home)" \
      "$inst/home/plugins/opensearch-security/tools/hash.sh" -env EW_PW 2>/dev/null | tail -n1)"
    [[ "$hash" == \$2* ]] || die "hash.sh did not produce a bcrypt hash for $user"
    (umask 077; printf '%s\n%s\n' "$hash" "$(sha256sum "$pwf" | cut -d' ' -f1)" > "$hf")
  fi
  hash="$(head -n1 "$hf")"
  echo "$user: {hash: \"$hash\", reserved: false, description: \"$3\"}"
}

# os_roles_yml DIR: roles.yml from dashboards/security/opensearch-*.json (written at configure and
# again after every start, so that a role changed while the server runs is loaded by the sync).
os_roles_yml() {
  {
    echo '_meta: {type: "roles", config_version: 2}'
    echo "$DETECTOR_USER: $(role_json detector)"
    echo "$INSTALLER_USER: $(role_json installer)"
  } > "$1/roles.yml"
}

# security_stamp: digest of the security configuration this script wrote.
security_stamp() {
  cat "$(instance_dir)/home/config/opensearch-security/"*.yml | sha256sum | cut -d' ' -f1
}

# os_security_sync: after start, bring the security index in line with the yml files when they
# changed since they were last loaded (the first start loads them by itself).
os_security_sync() {
  local inst; inst="$(instance_dir)"
  local stamp="$inst/security-config.sha256" sum
  sum="$(security_stamp)"
  if [ -s "$stamp" ] && [ "$(cat "$stamp")" != "$sum" ]; then
    echo "cluster.sh: security configuration changed; loading it with securityadmin.sh"
    run_as env OPENSEARCH_JAVA_HOME="$(java_home)" JAVA_HOME="$(java_home)" \
      "$inst/home/plugins/opensearch-security/tools/securityadmin.sh" \
      -cd "$inst/home/config/opensearch-security" -icl -nhnv -h 127.0.0.1 -p "$HTTP_PORT" \
      -cacert "$inst/home/config/certs/ca.pem" -cert "$inst/home/config/certs/admin.pem" \
      -key "$inst/home/config/certs/admin-key.pem" >"$inst/logs/securityadmin.out" 2>&1 || true
    if ! grep -q 'Done with success' "$inst/logs/securityadmin.out"; then
      tail -n 20 "$inst/logs/securityadmin.out" >&2; die "securityadmin.sh failed"
    fi
  fi
  echo "$sum" > "$stamp"
}

configure_secure_elasticsearch() {
  cat <<'EOF'
xpack.security.enabled: true
xpack.security.http.ssl.enabled: true
xpack.security.http.ssl.key: certs/node-key.pem
xpack.security.http.ssl.certificate: certs/node.pem
xpack.security.http.ssl.certificate_authorities: ["certs/ca.pem"]
xpack.security.transport.ssl.enabled: true
xpack.security.transport.ssl.verification_mode: certificate
xpack.security.transport.ssl.key: certs/node-key.pem
xpack.security.transport.ssl.certificate: certs/node.pem
xpack.security.transport.ssl.certificate_authorities: ["certs/ca.pem"]
xpack.security.authc.api_key.enabled: true
EOF
}

# install_shim INST: builds scripts/testplugins/es-analysis-shim against this distribution
# (cached by source digest and version) and installs it when the installed one differs.
install_shim() {
  local inst="$1" sum zip
  local stamp="$inst/home/plugins/edgewatch-analysis-shim/.edgewatch-source.sha256"
  sum="$(cd "$SHIM_SRC" && find . -type f ! -name '*.md' -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)"
  zip="$CACHE/secure/build/edgewatch-analysis-shim-$VERSION-$sum.zip"
  if [ ! -s "$zip" ]; then
    echo "cluster.sh: building the test-only analysis shim plugin for $NAME"
    JAVA_HOME="$(java_home)" "$SHIM_SRC/build.sh" "$inst/home" "$zip" || die "shim build failed"
  fi
  [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] && return 0
  local tool=(env ES_JAVA_HOME="$(java_home)" ES_PATH_CONF="$inst/home/config" "$inst/home/bin/elasticsearch-plugin")
  if [ -d "$inst/home/plugins/edgewatch-analysis-shim" ]; then
    "${tool[@]}" remove edgewatch-analysis-shim >/dev/null 2>&1 || rm -rf "$inst/home/plugins/edgewatch-analysis-shim"
  fi
  "${tool[@]}" install --batch "file://${zip// /%20}" >"$inst/plugin-install.out" 2>&1 \
    || { cat "$inst/plugin-install.out" >&2; die "elasticsearch-plugin install of the shim failed"; }
  echo "$sum" > "$stamp"
}

# curl_as WHO CURL-ARGS...: curl against the secured server as admin|detector|installer|apikey
# (credentials through a config on a pipe, never on the command line).
curl_as() {
  local who="$1"; shift
  local cfg
  case "$who" in
    apikey) cfg="header = \"Authorization: ApiKey $(head -n1 "$CRED/detector.api_key")\"" ;;
    admin|detector|installer)
      local user="edgewatch_$who"
      cfg="user = \"$user:$(head -n1 "$CRED/$who.password")\"" ;;
    *) die "curl_as: unknown identity $who" ;;
  esac
  curl -sS --max-time 30 --cacert "$TLS/ca.pem" -K <(printf '%s\n' "$cfg") "$@"
}

# es_secure_setup: roles from dashboards/security through the role API, then a valid API key.
es_secure_setup() {
  local role code
  for role in detector installer; do
    code="$(curl_as admin -w '\n%{http_code}' -X PUT -H 'Content-Type: application/json' \
      --data-binary "@$SECURITY_DIR/elasticsearch-$role.json" "$URL/_security/role/edgewatch_$role")"
    [ "${code##*$'\n'}" = 200 ] || die "PUT _security/role/edgewatch_$role answered: $code"
  done
  ensure_api_key
}

# ensure_api_key: the detector's API key in $CRED/detector.api_key authenticates and carries the
# current detector role, else a new key (30 days, the detector role as its role descriptor)
# replaces it. (A key keeps the role descriptors it was created with.)
ensure_api_key() {
  local keyf="$CRED/detector.api_key" want
  want="$(role_json detector --no-description | sha256sum | cut -d' ' -f1)"
  if [ -s "$keyf" ] && [ "$(cat "$keyf.role.sha256" 2>/dev/null)" = "$want" ] \
      && [ "$(curl_as apikey -o /dev/null -w '%{http_code}' "$URL/_security/_authenticate")" = 200 ]; then
    return 0
  fi
  if [ -s "$keyf.id" ]; then   # best effort: retire the old key
    curl_as admin -o /dev/null -X DELETE -H 'Content-Type: application/json' \
      -d "{\"ids\":[\"$(head -n1 "$keyf.id")\"]}" "$URL/_security/api_key" || true
  fi
  local body resp enc id
  body="{\"name\":\"edgewatch-detector\",\"expiration\":\"30d\",\"role_descriptors\":{\"edgewatch_detector\":$(role_json detector --no-description)}}"
  resp="$(curl_as admin -X POST -H 'Content-Type: application/json' --data-binary @- "$URL/_security/api_key" <<<"$body")"
  enc="$(sed -n 's/.*"encoded":"\([^"]*\)".*/\1/p' <<<"$resp")"
  id="$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$resp")"
  [ -n "$enc" ] || die "cannot create the detector API key: $(sed 's/"api_key":"[^"]*"/"api_key":"…"/; s/"encoded":"[^"]*"/"encoded":"…"/' <<<"$resp")"
  (umask 077; echo "$enc" > "$keyf.tmp" && mv "$keyf.tmp" "$keyf"; echo "$id" > "$keyf.id"; echo "$want" > "$keyf.role.sha256")
  echo "cluster.sh: created the detector API key (id $id)"
}

# post_start: what a secured server needs once it answers.
post_start() {
  [ "$MODE" = secure ] || return 0
  if [ "$FLAVOR" = opensearch ]; then
    os_roles_yml "$(instance_dir)/home/config/opensearch-security"
    os_security_sync
  else
    es_secure_setup
  fi
}

# ---- requests ----

es_auth() {
  if [ "$FLAVOR" = elasticsearch ] && [ "$MODE" = plain ] && [ -s "$CACHE/elasticsearch.password" ]; then
    printf -- '-u\n%s:%s\n' "$ES_USER" "$(head -n1 "$CACHE/elasticsearch.password")"
  fi
}

http() { # http PATH [curl args...] (node 1, or $HTTP_NODE with --nodes)
  local path="$1"; shift
  local url; url="$(node_url "${HTTP_NODE:-1}")"
  if [ "$MODE" = secure ]; then
    [ -s "$CRED/admin.password" ] || return 1
    curl_as admin --max-time 10 "$@" "$url$path"
    return
  fi
  local auth=(); mapfile -t auth < <(es_auth)
  curl -sS --max-time 10 "${auth[@]}" "$@" "$url$path"
}

pid_alive() { # pid_alive [I]
  local d; d="$(node_dir "${1:-1}")"
  [ -s "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null
}

server_log() { echo "$(node_dir "${1:-1}")/logs/$CLUSTER_NAME.log"; }

tail_logs() { # tail_logs [LINES] [I]
  local d; d="$(node_dir "${2:-1}")"
  echo "---- last lines of $(server_log "${2:-1}") ----" >&2
  tail -n "${1:-60}" "$(server_log "${2:-1}")" 2>/dev/null >&2 || echo "(no server log)" >&2
  if [ -s "$d/logs/startup.out" ]; then
    echo "---- last lines of $d/logs/startup.out ----" >&2
    tail -n 30 "$d/logs/startup.out" >&2
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
    { rm -f /dev/null && mknod -m 666 /dev/null c 1 3; } || die "cannot restore /dev/null"
  else
    die "/dev/null is not a character device; as root: rm -f /dev/null && mknod -m 666 /dev/null c 1 3"
  fi
}

# port_taken PORT: something answers on 127.0.0.1:PORT (any protocol).
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# jvm_tmpdir DIR: DIR, or a link to it without whitespace in its path. The servers' start scripts
# put the temporary directory into the JVM options unquoted (-Djava.io.tmpdir=…), so a checkout
# under "some folder/" would start java with "folder/…" as its main class.
jvm_tmpdir() {
  case "$1" in
    *[[:space:]]*)
      local base="${TMPDIR:-/tmp}" link
      case "$base" in *[[:space:]]*) base=/tmp;; esac
      link="$base/edgewatch-cluster-$(printf %s "$1" | cksum | cut -d' ' -f1)"
      ln -sfn "$1" "$link" || die "cannot link $link to $1"
      echo "$link";;
    *) echo "$1";;
  esac
}

# launch I: start node I (the single node, or node I with --nodes) in the background.
launch() {
  local i="${1:-1}" d; d="$(node_dir "$i")"
  local jh; jh="$(java_home)"
  local heap_min="$HEAP_MIN" heap_max="$HEAP_MAX" conf
  if [ "$MODE" = multi ]; then
    heap_min="${EDGEWATCH_CLUSTER_NODE_HEAP_MIN:-256m}"; heap_max="${EDGEWATCH_CLUSTER_NODE_HEAP_MAX:-384m}"
    conf="$d/config"
  else
    conf="$d/home/config"
  fi
  rm -f "$d/pid"
  local opts="-Xms$heap_min -Xmx$heap_max"
  echo "cluster.sh: starting $LABEL node $i on $(node_url "$i") (java $jh, heap $heap_min..$heap_max)"
  local home; home="$(instance_dir)/home"
  local tmp; tmp="$(jvm_tmpdir "$d/tmp")"
  if [ "$FLAVOR" = opensearch ]; then
    run_as env OPENSEARCH_JAVA_HOME="$jh" JAVA_HOME="$jh" OPENSEARCH_JAVA_OPTS="$opts" \
      OPENSEARCH_PATH_CONF="$conf" OPENSEARCH_TMPDIR="$tmp" \
      "$home/bin/opensearch" -d -p "$d/pid" >"$d/logs/startup.out" 2>&1 </dev/null
  else
    run_as env ES_JAVA_HOME="$jh" JAVA_HOME="$jh" ES_JAVA_OPTS="$opts" \
      ES_PATH_CONF="$conf" ES_TMPDIR="$tmp" \
      "$home/bin/elasticsearch" -d -p "$d/pid" >"$d/logs/startup.out" 2>&1 </dev/null
  fi
}

cmd_start() {
  [ "$MODE" = multi ] && { cmd_start_multi; return; }
  check_dev_null
  local inst; inst="$(instance_dir)"
  if pid_alive && healthy; then
    post_start
    echo "cluster.sh: $LABEL already running at $URL (pid $(cat "$inst/pid"))"
    return 0
  fi
  if ! pid_alive && { port_taken "$HTTP_PORT" || port_taken "$TRANSPORT_PORT"; }; then
    die "port $HTTP_PORT or $TRANSPORT_PORT is already served by another process (not $NAME); stop it or set EDGEWATCH_CLUSTER_HTTP_PORT/_TRANSPORT_PORT"
  fi
  ensure_user
  inst="$(instance_dir)"
  fetch
  local jh; jh="$(java_home)"
  [ -x "$jh/bin/java" ] || die "no Java at $jh (set EDGEWATCH_CLUSTER_JAVA_HOME)"
  if ! pid_alive; then
    configure "$inst"
    launch 1 || { tail_logs; kill_started; die "$NAME failed to start"; }
  fi
  local deadline=$((SECONDS + TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if healthy; then
      ( post_start ) || { kill_started; die "$LABEL: setup after start failed; stopped it"; }
      echo "cluster.sh: $LABEL is up at $URL (pid $(cat "$inst/pid" 2>/dev/null), $(version_line))"
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
  local i
  for i in $(seq 1 "$NODES"); do
    local d; d="$(node_dir "$i")"
    if pid_alive "$i"; then
      kill -TERM "$(cat "$d/pid")" 2>/dev/null || true
      sleep 5
      if pid_alive "$i"; then kill -KILL "$(cat "$d/pid")" 2>/dev/null || true; fi
    fi
    rm -f "$d/pid"
  done
}

# GET / is not served by the Elasticsearch integ-test zip (its rest-root module is missing:
# 405), so the version comes from the local node's info on both flavors.
version_line() {
  http "/_nodes/_local?filter_path=nodes.*.version" 2>/dev/null | sed -n 's/.*"version":"\([^"]*\)".*/version \1/p'
}

# stop_one I [KILL]: stop node I (SIGTERM, SIGKILL after 60 s; SIGKILL at once when KILL=1;
# KILL=sent: the caller has sent SIGTERM already, only wait).
stop_one() {
  local i="${1:-1}" kill9="${2:-0}" d; d="$(node_dir "$i")"
  local label="$LABEL"
  [ "$MODE" = multi ] && label="$NAME node $i"
  if ! pid_alive "$i"; then
    rm -f "$d/pid"
    if [ "$kill9" = sent ]; then echo "cluster.sh: $label stopped"; else echo "cluster.sh: $label not running"; fi
    return 0
  fi
  local pid; pid="$(cat "$d/pid")"
  case "$kill9" in
    1) kill -KILL "$pid" ;;
    sent) ;;
    *) kill -TERM "$pid" ;;
  esac
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$d/pid"; echo "cluster.sh: $label stopped$([ "$kill9" = 1 ] && echo ' (SIGKILL)')"; return 0; }
    sleep 0.5
  done
  echo "cluster.sh: $label did not stop within 60s, killing pid $pid" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$d/pid"
}

cmd_stop() {
  if [ "$MODE" != multi ]; then stop_one 1; return; fi
  local i sent=()
  for i in $(seq 1 "$NODES"); do   # SIGTERM all first: nodes shut down in parallel
    if pid_alive "$i"; then kill -TERM "$(cat "$(node_dir "$i")/pid")" 2>/dev/null || true; sent+=("$i"); fi
  done
  for i in $(seq 1 "$NODES"); do
    if [[ " ${sent[*]} " == *" $i "* ]]; then stop_one "$i" sent; else stop_one "$i"; fi
  done
}

cmd_status() {
  [ "$MODE" = multi ] && { cmd_status_multi; return; }
  local inst; inst="$(instance_dir)"
  if pid_alive; then
    local h; h="$(http "/_cluster/health" 2>/dev/null | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')"
    echo "$LABEL running pid $(cat "$inst/pid") at $URL health=${h:-unreachable} $(version_line)"
    [ -n "$h" ] || return 1
  else
    echo "$LABEL stopped"
    return 3
  fi
}

# export_line NAME VALUE: an export line for eval, the value quoted (a checkout path may hold spaces).
export_line() { printf 'export %s=%q\n' "$1" "$2"; }

cmd_env() {
  case "$MODE" in
    plain)
      local cred="$CACHE/elasticsearch.password"
      export_line "EDGEWATCH_${UPPER}_URL" "$URL"
      if [ "$FLAVOR" = elasticsearch ] && [ -s "$cred" ]; then
        export_line "EDGEWATCH_${UPPER}_USERNAME" "$ES_USER"
        export_line "EDGEWATCH_${UPPER}_PASSWORD_FILE" "$(cd "$(dirname "$cred")" && pwd)/$(basename "$cred")"
      fi
      ;;
    secure)
      local p="EDGEWATCH_${UPPER}_SECURE" c="$CRED"
      [ -s "$CRED/detector.password" ] || echo "cluster.sh: warning: no credentials yet; run: scripts/cluster.sh start $FLAVOR --secure" >&2
      export_line "${p}_URL" "$URL"
      export_line "${p}_CA_FILE" "$TLS/ca.pem"
      export_line "${p}_ADMIN_USERNAME" "$ADMIN_USER"
      export_line "${p}_ADMIN_PASSWORD_FILE" "$c/admin.password"
      export_line "${p}_USERNAME" "$DETECTOR_USER"
      export_line "${p}_PASSWORD_FILE" "$c/detector.password"
      export_line "${p}_INSTALLER_USERNAME" "$INSTALLER_USER"
      export_line "${p}_INSTALLER_PASSWORD_FILE" "$c/installer.password"
      if [ "$FLAVOR" = elasticsearch ]; then
        export_line "${p}_API_KEY_FILE" "$c/detector.api_key"
      fi
      ;;
    multi)
      local urls=() i
      for i in $(seq 1 "$NODES"); do urls+=("$(node_url "$i")"); done
      export_line "EDGEWATCH_${UPPER}_${NODES}NODE_URL" "${urls[0]}"
      export_line "EDGEWATCH_${UPPER}_${NODES}NODE_URLS" "$(IFS=,; echo "${urls[*]}")"
      ;;
  esac
}

# ---- several nodes ----

multi_configure() {
  local inst; inst="$(instance_dir)"
  local i seeds=() names=()
  for i in $(seq 1 "$NODES"); do
    seeds+=("\"127.0.0.1:$(node_transport_port "$i")\""); names+=("\"edgewatch-node-$i\"")
  done
  for i in $(seq 1 "$NODES"); do
    local d="$inst/node-$i"
    mkdir -p "$d/data" "$d/logs" "$d/tmp"
    if [ ! -s "$d/config/jvm.options" ]; then
      rm -rf "$d/config"; cp -r "$inst/home/config" "$d/config"
    fi
    {
      echo "# written by scripts/cluster.sh — edits are overwritten on start"
      echo "cluster.name: $CLUSTER_NAME"
      echo "node.name: edgewatch-node-$i"
      echo "network.host: 127.0.0.1"
      echo "http.port: $(node_http_port "$i")"
      echo "transport.port: $(node_transport_port "$i")"
      echo "discovery.seed_hosts: [$(IFS=,; echo "${seeds[*]}")]"
      echo "cluster.initial_cluster_manager_nodes: [$(IFS=,; echo "${names[*]}")]"
      echo "path.data: $d/data"
      echo "path.logs: $d/logs"
      echo "cluster.routing.allocation.disk.threshold_enabled: false"
      echo "action.destructive_requires_name: false"
    } > "$d/config/$FLAVOR.yml"
  done
  if as_root; then chown -R "$RUN_USER:" "$inst"; fi
}

# multi_health: cluster health asked on the first running node, waiting up to 2 s for all N
# nodes and yellow. Prints the status when all nodes are in.
multi_health() {
  local i body
  for i in $(seq 1 "$NODES"); do
    pid_alive "$i" || continue
    body="$(HTTP_NODE=$i http "/_cluster/health?wait_for_status=yellow&wait_for_nodes=$NODES&timeout=2s" 2>/dev/null)" || continue
    if [[ "$body" == *'"timed_out":false'* ]] && [[ "$body" == *"\"number_of_nodes\":$NODES,"* ]]; then
      sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' <<<"$body"
      return 0
    fi
    return 1
  done
  return 1
}

# multi_wait: until every node runs and the cluster has all N nodes and is yellow/green.
multi_wait() {
  local deadline=$((SECONDS + TIMEOUT)) i h
  while [ $SECONDS -lt $deadline ]; do
    for i in $(seq 1 "$NODES"); do
      if [ -s "$(node_dir "$i")/pid" ] && ! pid_alive "$i"; then
        tail_logs 60 "$i"; die "$NAME node $i exited during startup"
      fi
    done
    if h="$(multi_health)"; then
      echo "cluster.sh: $NAME cluster of $NODES nodes is $h at $(node_url 1)..$(node_url "$NODES") ($(version_line))"
      return 0
    fi
    sleep 2
  done
  for i in $(seq 1 "$NODES"); do tail_logs 30 "$i"; done
  return 1
}

cmd_start_multi() {
  check_dev_null
  local i todo=()
  for i in $(seq 1 "$NODES"); do
    pid_alive "$i" && continue
    if port_taken "$(node_http_port "$i")" || port_taken "$(node_transport_port "$i")"; then
      die "port $(node_http_port "$i") or $(node_transport_port "$i") is already served by another process (not $NAME node $i)"
    fi
    todo+=("$i")
  done
  if [ ${#todo[@]} -eq 0 ] && multi_health >/dev/null; then
    echo "cluster.sh: $NAME cluster of $NODES nodes already running at $(node_url 1)"
    return 0
  fi
  ensure_user
  fetch
  [ -x "$(java_home)/bin/java" ] || die "no Java at $(java_home) (set EDGEWATCH_CLUSTER_JAVA_HOME)"
  multi_configure
  for i in "${todo[@]}"; do
    launch "$i" || { tail_logs 60 "$i"; kill_started; die "$NAME node $i failed to start"; }
  done
  multi_wait || { kill_started; die "$NAME cluster did not form ($NODES nodes, yellow/green) within ${TIMEOUT}s"; }
}

cmd_start_node() {
  check_dev_null
  if pid_alive "$NODE"; then
    echo "cluster.sh: $NAME node $NODE already running"
  else
    multi_configure
    launch "$NODE" || { tail_logs 60 "$NODE"; die "$NAME node $NODE failed to start"; }
  fi
  multi_wait || die "$NAME node $NODE did not rejoin within ${TIMEOUT}s"
}

cmd_status_multi() {
  local i running=0 h
  for i in $(seq 1 "$NODES"); do
    if pid_alive "$i"; then
      running=$((running + 1))
      echo "$NAME node $i running pid $(cat "$(node_dir "$i")/pid") at $(node_url "$i")"
    else
      echo "$NAME node $i stopped"
    fi
  done
  [ "$running" -gt 0 ] || return 3
  local body
  for i in $(seq 1 "$NODES"); do
    pid_alive "$i" || continue
    body="$(HTTP_NODE=$i http "/_cluster/health" 2>/dev/null)" || continue
    h="$(sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' <<<"$body")"
    echo "cluster health=${h:-unreachable} nodes=$(sed -n 's/.*"number_of_nodes":\([0-9]*\).*/\1/p' <<<"$body") (asked node $i)"
    return 0
  done
  echo "cluster health=unreachable"
  return 1
}

case "$CMD" in
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  url)    node_url 1 ;;
  env)    cmd_env ;;
  fetch)  ensure_user; fetch; echo "cluster.sh: $NAME unpacked in $(instance_dir)/home" ;;
  log)    tail_logs 100 "${NODE:-1}" 2>&1 ;;
  stop-node)  stop_one "$NODE" "$KILL9" ;;
  start-node) cmd_start_node ;;
  *) usage ;;
esac
