#!/usr/bin/env bash
# scripts/secure-check.sh — proves the roles in dashboards/security/ on the secured test servers.
#
# Usage: scripts/secure-check.sh [opensearch] [elasticsearch]     (default: both)
#
# Needs the secured servers (`make clusters-secure-up`, i.e. scripts/cluster.sh start <flavor>
# --secure); reads their addresses and credentials from `scripts/cluster.sh env <flavor> --secure`.
# Every request goes through curl with the test CA. As the admin it loads a small defender-check-*
# index; then, as the detector (user/password and, on Elasticsearch, the API key), it does what
# edgewatch does — version probe, count/search/PIT/search_after on defender-*, bulk create into
# edgewatch-alerts-*, an indicator feed load (create index, bulk, settings, refresh, count, alias
# swap, delete the old index), state documents with if_seq_no — each expecting 2xx, and the
# things it must not do (delete or write a Defender index, create a template or another index,
# delete the state index, use the security API) expecting 403. As the installer it manages index
# templates and creates indices. It also checks: wrong password and no credentials → 401, an
# invalidated API key → 401, plain http and a wrong CA → a TLS-level error, and that each role
# document is accepted by the server's role API as it is. Names carry a per-run suffix; everything
# it creates is deleted at the end. Prints one line per check and exits non-zero on any failure.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="$REPO/scripts/cluster.sh"
SECURITY_DIR="$REPO/dashboards/security"
flavors=("$@")
[ ${#flavors[@]} -gt 0 ] || flavors=(opensearch elasticsearch)

R="$(date +%s)-$$"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
PASS=0; FAIL=0
FLAVOR=""; CODE=""; BODY=""

row() { # row PASS|FAIL WHO GOT WANT LABEL [DETAIL]
  local who="$2"
  case "$who" in key:Zm9vOmJhcg==) who="bogus key" ;; key:*) who="2nd key" ;; esac   # never print a key
  printf '%-4s %-13s %-9s %-5s %-5s %s\n' "$1" "$FLAVOR" "$who" "$3" "$4" "$5"
  if [ "$1" = PASS ]; then PASS=$((PASS + 1)); else FAIL=$((FAIL + 1)); [ -z "${6:-}" ] || printf '       %s\n' "${6:0:400}"; fi
}

# req WHO METHOD PATH [BODY] [CONTENT-TYPE]: one request; sets CODE and BODY. WHO is admin,
# detector, installer, apikey (the detector's stored key), key:<encoded>, wrongpw or anon.
req() {
  local who="$1" method="$2" path="$3" body="${4:-}" ctype="${5:-application/json}" cfg=""
  case "$who" in
    admin) cfg="user = \"$ADMIN_USER:$(head -n1 "$ADMIN_PW_FILE")\"" ;;
    detector) cfg="user = \"$DET_USER:$(head -n1 "$DET_PW_FILE")\"" ;;
    installer) cfg="user = \"$INST_USER:$(head -n1 "$INST_PW_FILE")\"" ;;
    wrongpw) cfg="user = \"$DET_USER:not-the-password\"" ;;
    apikey) cfg="header = \"Authorization: ApiKey $(head -n1 "$API_KEY_FILE")\"" ;;
    key:*) cfg="header = \"Authorization: ApiKey ${who#key:}\"" ;;
    anon) cfg="" ;;
  esac
  local args=(-sS --max-time 30 --cacert "$CA" -o "$WORK/body" -w '%{http_code}')
  if [ "$method" = HEAD ]; then args+=(-I); else args+=(-X "$method"); fi
  if [ -n "$body" ]; then args+=(-H "Content-Type: $ctype" --data-binary "$body"); fi
  # The credentials go through a config on a pipe (-K), never on the command line.
  CODE="$(curl "${args[@]}" -K <(printf '%s\n' "$cfg") "$URL$path" 2>"$WORK/err")" || CODE="curl$?"
  BODY="$(cat "$WORK/body" 2>/dev/null)"
}

# [HAS=TEXT] expect WHO WANT LABEL METHOD PATH [BODY] [CONTENT-TYPE]: WANT is a code or 2xx;
# with HAS the answer must also contain TEXT (a wildcard that matches no permitted index
# answers 200 with nothing in it, so a bare 2xx would prove little).
expect() {
  local who="$1" want="$2" label="$3"; shift 3
  req "$who" "$@"
  local ok=0
  if [ "$want" = 2xx ]; then [[ "$CODE" == 2?? ]] && ok=1; else [ "$CODE" = "$want" ] && ok=1; fi
  if [ -n "${HAS:-}" ] && [[ "$BODY" != *"$HAS"* ]]; then ok=0; label="$label (answer lacks $HAS)"; fi
  if [ $ok = 1 ]; then row PASS "$who" "$CODE" "$want" "$label"; else row FAIL "$who" "$CODE" "$want" "$label" "$BODY$(cat "$WORK/err")"; fi
}

# expect_bulk_ok WHO [WHAT]: the last answer was a bulk answer with no failed item.
expect_bulk_ok() {
  local label="bulk items all created${2:+ $2}"
  if [[ "$CODE" == 2?? ]] && [[ "$BODY" == *'"errors":false'* ]]; then row PASS "$1" "$CODE" 2xx "$label"
  else row FAIL "$1" "$CODE" 2xx "$label" "$BODY"; fi
}

# expect_curl_rc LABEL WANT_RC CURL-ARGS...: a TLS-level check (no HTTP status expected).
expect_curl_rc() {
  local label="$1" want="$2"; shift 2
  local rc=0
  curl -sS --max-time 10 -o /dev/null "$@" 2>"$WORK/err" || rc=$?
  local err; err="$(head -n1 "$WORK/err")"
  if { [ "$want" = nonzero ] && [ $rc -ne 0 ]; } || [ "$rc" = "$want" ]; then
    row PASS anon "rc=$rc" "$want" "$label ($(head -n1 <<<"$err"))"
  else row FAIL anon "rc=$rc" "$want" "$label" "$err"; fi
}

field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" <<<"$BODY" | head -n1; }

check_flavor() {
  FLAVOR="$1"
  local up; up="$(echo "$FLAVOR" | tr '[:lower:]' '[:upper:]')"
  local envs; envs="$("$CLUSTER" env "$FLAVOR" --secure 2>/dev/null)" || { row FAIL - - - "scripts/cluster.sh env $FLAVOR --secure"; return; }
  eval "$envs"
  local p="EDGEWATCH_${up}_SECURE"
  URL="$(printenv "${p}_URL")"; CA="$(printenv "${p}_CA_FILE")"
  ADMIN_USER="$(printenv "${p}_ADMIN_USERNAME")"; ADMIN_PW_FILE="$(printenv "${p}_ADMIN_PASSWORD_FILE")"
  DET_USER="$(printenv "${p}_USERNAME")"; DET_PW_FILE="$(printenv "${p}_PASSWORD_FILE")"
  INST_USER="$(printenv "${p}_INSTALLER_USERNAME")"; INST_PW_FILE="$(printenv "${p}_INSTALLER_PASSWORD_FILE")"
  API_KEY_FILE="$(printenv "${p}_API_KEY_FILE" || true)"

  req admin GET /_cluster/health
  if [[ "$CODE" != 2?? ]]; then
    row FAIL admin "$CODE" 200 "secured $FLAVOR answers at $URL (start it: make clusters-secure-up)" "$BODY"
    return
  fi
  local os=0; [ "$FLAVOR" = opensearch ] && os=1
  local defender="defender-check-$R" other="other-check-$R" alerts="edgewatch-alerts-check-$R"
  local feed="edgewatch-indicators-check-$R" tpl="edgewatch-check-$R" state="edgewatch-state" doc="check-$R"
  local nd=application/x-ndjson
  # The data stream has a fixed name: the Elasticsearch integ-test zip cannot delete data
  # streams (its data-streams module is missing), so one stream is reused across runs.
  local ds="edgewatch-alerts-check-ds" dstpl="edgewatch-check-ds" ro="edgewatch-alerts-check-$R-ro"

  # -- TLS and authentication --
  expect_curl_rc "plain http on the https port fails" nonzero "http://${URL#https://}/"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=Some Other CA" \
    -keyout "$WORK/other-ca-key.pem" -out "$WORK/other-ca.pem" 2>/dev/null
  expect_curl_rc "https with a wrong CA fails verification" 60 --cacert "$WORK/other-ca.pem" "$URL/"
  expect_curl_rc "https with the system CAs fails verification" 60 "$URL/"
  expect wrongpw 401 "wrong password" GET /_cluster/health
  expect anon 401 "no credentials" GET /_cluster/health

  # -- role documents as they are: accepted by the role API --
  local role
  for role in detector installer; do
    if [ $os = 1 ]; then
      expect admin 2xx "role API accepts $FLAVOR-$role.json" PUT "/_plugins/_security/api/roles/edgewatch_check_$role" "@$SECURITY_DIR/$FLAVOR-$role.json"
      req admin DELETE "/_plugins/_security/api/roles/edgewatch_check_$role"
    else
      expect admin 2xx "role API accepts $FLAVOR-$role.json" PUT "/_security/role/edgewatch_check_$role" "@$SECURITY_DIR/$FLAVOR-$role.json"
      req admin DELETE "/_security/role/edgewatch_check_$role"
    fi
  done

  # -- test data (admin) --
  expect admin 2xx "load $defender" PUT "/$defender" \
    '{"settings":{"number_of_shards":2,"number_of_replicas":0},"mappings":{"properties":{"Timestamp":{"type":"date"},"DeviceName":{"type":"keyword"},"RemoteIP":{"type":"ip"},"RemotePort":{"type":"integer"}}}}'
  local docs="" i
  for i in 1 2 3 4 5; do
    docs+="{\"create\":{\"_id\":\"e$i\"}}"$'\n'"{\"Timestamp\":\"2026-01-01T00:0$i:00Z\",\"DeviceName\":\"host-$i\",\"RemoteIP\":\"198.51.100.$i\",\"RemotePort\":443}"$'\n'
  done
  req admin POST "/$defender/_bulk?refresh=true" "$docs" $nd; expect_bulk_ok admin "(test data)"
  expect admin 2xx "load $other" PUT "/$other" '{"settings":{"number_of_replicas":0}}'

  # -- installer --
  if [ $os = 1 ]; then
    HAS='"number"' expect installer 2xx "version probe GET /" GET /
  else
    HAS='"version"' expect installer 2xx "version probe GET /_nodes/_local" GET "/_nodes/_local?filter_path=nodes.*.version"
  fi
  expect installer 2xx "put index template" PUT "/_index_template/$tpl" \
    "{\"index_patterns\":[\"$tpl-*\"],\"template\":{\"settings\":{\"number_of_replicas\":0}},\"_meta\":{\"version\":1}}"
  expect installer 2xx "get index template" GET "/_index_template/$tpl"
  req installer HEAD "/$state"
  if [ "$CODE" = 404 ]; then
    expect installer 2xx "create $state" PUT "/$state" '{"settings":{"number_of_replicas":0}}'
  else
    row "$([ "$CODE" = 200 ] && echo PASS || echo FAIL)" installer "$CODE" 200 "$state exists (HEAD)"
  fi
  expect installer 2xx "create $alerts-installed" PUT "/$alerts-installed" '{"settings":{"number_of_replicas":0}}'
  expect installer 2xx "update settings of $alerts-installed" PUT "/$alerts-installed/_settings" '{"index":{"refresh_interval":"5s"}}'
  # Alerts may go through a data stream or a rollover alias: the installer prepares both.
  expect installer 2xx "put data stream template" PUT "/_index_template/$dstpl" \
    "{\"index_patterns\":[\"$ds*\"],\"data_stream\":{},\"priority\":300,\"template\":{\"settings\":{\"number_of_replicas\":0}}}"
  expect installer 2xx "create a rollover index with its write alias" PUT "/$ro-000001" \
    "{\"settings\":{\"number_of_replicas\":0},\"aliases\":{\"$ro\":{\"is_write_index\":true}}}"
  expect installer 403 "read $defender (not its business)" POST "/$defender/_search" '{}'
  expect installer 403 "write a state doc (not its business)" PUT "/$state/_doc/$doc-installer" '{"x":1}'
  expect installer 403 "delete $defender" DELETE "/$defender"
  expect installer 2xx "delete index template" DELETE "/_index_template/$tpl"

  # -- detector: what edgewatch does --
  local who
  for who in detector $([ $os = 0 ] && echo apikey); do
    if [ $os = 1 ]; then
      HAS='"number"' expect "$who" 2xx "version probe GET /" GET /
    else
      # The integ-test zip has no rest-root module: GET / is 405 for everyone; the version
      # comes from the local node's info (connectors/cluster DetectServer does the same).
      HAS='"version"' expect "$who" 2xx "version probe GET /_nodes/_local" GET "/_nodes/_local?filter_path=nodes.*.version"
    fi
    HAS='"count":5,' expect "$who" 2xx "count $defender" GET "/$defender/_count"
    HAS='"_id":"e1"' expect "$who" 2xx "search defender-*" POST "/defender-*/_search" '{"size":1,"query":{"terms":{"RemoteIP":["198.51.100.1"]}}}'
    HAS="\"$defender\"" expect "$who" 2xx "field mappings of defender-*" GET "/defender-*/_mapping/field/DeviceName,RemoteIP?ignore_unavailable=true&allow_no_indices=true"
    HAS="\"$defender\"" expect "$who" 2xx "settings of defender-* (max_terms_count)" GET "/defender-*/_settings/index.max_terms_count?include_defaults=true&flat_settings=true&ignore_unavailable=true&allow_no_indices=true"
    local pit
    if [ $os = 1 ]; then
      expect "$who" 2xx "open PIT on $defender" POST "/$defender/_search/point_in_time?keep_alive=1m"
      pit="$(field pit_id)"
    else
      expect "$who" 2xx "open PIT on $defender" POST "/$defender/_pit?keep_alive=1m"
      pit="$(field id)"
    fi
    local tiebreak=_shard_doc; [ $os = 1 ] && tiebreak=_doc
    HAS='"_id":"e1"' expect "$who" 2xx "PIT search page 1" POST /_search \
      "{\"size\":2,\"pit\":{\"id\":\"$pit\",\"keep_alive\":\"1m\"},\"sort\":[{\"Timestamp\":\"asc\"},{\"$tiebreak\":\"asc\"}]}"
    local after; after="$(sed -n 's/.*"sort":\(\[[^]]*\]\).*/\1/p' <<<"$BODY")"
    HAS='"_id":"e3"' expect "$who" 2xx "PIT search page 2 (search_after)" POST /_search \
      "{\"size\":2,\"pit\":{\"id\":\"$pit\",\"keep_alive\":\"1m\"},\"sort\":[{\"Timestamp\":\"asc\"},{\"$tiebreak\":\"asc\"}],\"search_after\":${after:-[]}}"
    if [ $os = 1 ]; then
      expect "$who" 2xx "close PIT" DELETE /_search/point_in_time "{\"pit_id\":[\"$pit\"]}"
    else
      expect "$who" 2xx "close PIT" DELETE /_pit "{\"id\":\"$pit\"}"
    fi

    # Alerts: bulk create with deterministic ids into an index that does not exist yet.
    local a="$alerts-$who" ad=""
    for i in 1 2; do ad+="{\"create\":{\"_id\":\"alert-$i\"}}"$'\n'"{\"@timestamp\":\"2026-01-01T00:0$i:00Z\",\"source\":{\"ip\":\"198.51.100.$i\"}}"$'\n'; done
    req "$who" POST "/$a/_bulk" "$ad" $nd; expect_bulk_ok "$who" "(alerts into a new index)"
    req "$who" POST "/$a/_bulk" "$ad" $nd
    if [[ "$CODE" == 2?? ]] && [[ "$BODY" == *'"status":409'* ]] && [[ "$BODY" != *'"status":403'* ]]; then
      row PASS "$who" "$CODE" 2xx "bulk create again: items 409 (already there), not 403"
    else row FAIL "$who" "$CODE" 2xx "bulk create again: items 409 (already there), not 403" "$BODY"; fi

    req "$who" POST "/$ds/_bulk" "{\"create\":{\"_id\":\"$R-$who\"}}"$'\n'"{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"source\":{\"ip\":\"198.51.100.9\"},\"run\":\"$R\"}"$'\n' $nd
    expect_bulk_ok "$who" "(data stream $ds)"
    if [[ "$BODY" != *"\"_index\":\".ds-$ds-"* ]]; then row FAIL "$who" "$CODE" 2xx "the write landed in a backing index of $ds" "$BODY"; fi
    req "$who" POST "/$ro/_bulk" "{\"create\":{\"_id\":\"$R-$who\"}}"$'\n'"{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"source\":{\"ip\":\"198.51.100.9\"}}"$'\n' $nd
    expect_bulk_ok "$who" "(rollover alias $ro)"
    expect "$who" 403 "roll the alert alias over (ISM/ILM or the installer do)" POST "/$ro/_rollover"

    # Indicator feed load, twice: the second swaps the alias and deletes the first index.
    local f="$feed-$who" n
    for n in 1 2; do
      local idx="$f-$n"
      if [ "$n" = 1 ]; then
        expect "$who" 404 "feed load 1: resolve alias (none yet)" GET "/edgewatch-indicators-*/_alias/$f"
      else
        HAS="\"$f-1\"" expect "$who" 2xx "feed load 2: resolve alias" GET "/edgewatch-indicators-*/_alias/$f"
      fi
      expect "$who" 2xx "feed load $n: create index" PUT "/$idx" \
        '{"settings":{"index":{"number_of_replicas":0,"refresh_interval":"-1"}},"mappings":{"properties":{"value":{"type":"keyword"},"ip":{"type":"ip"}}}}'
      req "$who" POST "/$idx/_bulk" $'{"create":{"_id":"203.0.113.7"}}\n{"value":"203.0.113.7","ip":"203.0.113.7"}\n' $nd
      expect_bulk_ok "$who" "(feed load $n)"
      expect "$who" 2xx "feed load $n: restore refresh interval" PUT "/$idx/_settings" '{"index":{"refresh_interval":null}}'
      expect "$who" 2xx "feed load $n: refresh" POST "/$idx/_refresh"
      HAS='"count":1,' expect "$who" 2xx "feed load $n: count" GET "/$idx/_count"
      if [ "$n" = 1 ]; then
        expect "$who" 2xx "feed load 1: add alias" POST /_aliases "{\"actions\":[{\"add\":{\"index\":\"$idx\",\"alias\":\"$f\"}}]}"
      else
        HAS='"203.0.113.7"' expect "$who" 2xx "feed load 2: read previous (search_after)" POST "/$f-1/_search" \
          '{"size":100,"_source":false,"docvalue_fields":["first_seen"],"sort":[{"value":"asc"}]}'
        expect "$who" 2xx "feed load 2: swap alias" POST /_aliases \
          "{\"actions\":[{\"remove\":{\"index\":\"$f-1\",\"alias\":\"$f\"}},{\"add\":{\"index\":\"$idx\",\"alias\":\"$f\"}}]}"
        HAS="\"$f-1\"" expect "$who" 2xx "feed load 2: list load indices (_resolve)" GET "/_resolve/index/$f-*"
        expect "$who" 2xx "feed load 2: delete the old index" DELETE "/$f-1"
      fi
    done
    HAS='"_id":"203.0.113.7"' expect "$who" 2xx "search through the feed alias" POST "/$f/_search" '{"query":{"term":{"value":"203.0.113.7"}}}'
    HAS="\"$f\"" expect "$who" 2xx "list feed aliases" GET "/edgewatch-indicators-*/_alias/edgewatch-indicators-*"

    # State documents with optimistic concurrency.
    local d="$doc-$who"
    expect "$who" 2xx "state: create doc (op_type=create)" PUT "/$state/_doc/$d?op_type=create" '{"lease":"a","n":1}'
    HAS='"n":1' expect "$who" 2xx "state: get doc" GET "/$state/_doc/$d"
    local seq term; seq="$(field _seq_no)"; term="$(field _primary_term)"
    expect "$who" 2xx "state: conditional put (if_seq_no)" PUT "/$state/_doc/$d?if_seq_no=$seq&if_primary_term=$term&refresh=wait_for" '{"lease":"a","n":2}'
    expect "$who" 409 "state: stale conditional put → 409" PUT "/$state/_doc/$d?if_seq_no=$seq&if_primary_term=$term" '{"lease":"b","n":3}'
    req "$who" GET "/$state/_doc/$d"; seq="$(field _seq_no)"; term="$(field _primary_term)"
    HAS='"value":1' expect "$who" 2xx "state: search" POST "/$state/_search?filter_path=hits.total" '{"query":{"ids":{"values":["'"$d"'"]}}}'
    expect "$who" 2xx "state: conditional delete" DELETE "/$state/_doc/$d?if_seq_no=$seq&if_primary_term=$term"

    # What the detector must not do.
    expect "$who" 403 "delete a Defender index" DELETE "/$defender"
    expect "$who" 403 "write a Defender doc" PUT "/$defender/_doc/x" '{"DeviceName":"evil"}'
    req "$who" POST "/$defender/_bulk" $'{"index":{"_id":"x"}}\n{"DeviceName":"evil"}\n' $nd
    if [ "$CODE" = 403 ] || { [[ "$CODE" == 2?? ]] && [[ "$BODY" == *'"status":403'* ]] && [[ "$BODY" != *'"result":"created"'* ]]; }; then
      row PASS "$who" "$CODE" 403 "bulk into a Defender index refused$([ "$CODE" != 403 ] && echo ' (item 403)')"
    else row FAIL "$who" "$CODE" 403 "bulk into a Defender index refused" "$BODY"; fi
    expect "$who" 403 "update a Defender doc" POST "/$defender/_update/e1" '{"doc":{"DeviceName":"evil"}}'
    expect "$who" 403 "alias on a Defender index" POST /_aliases "{\"actions\":[{\"add\":{\"index\":\"$defender\",\"alias\":\"$f-x\"}}]}"
    if [ $os = 1 ]; then
      # OpenSearch 2.19's security plugin authorizes an alias action on its index only, not on
      # the alias name: the detector can give its own indicator index any alias name.
      expect "$who" 2xx "foreign alias name on an indicator index (not checked by OpenSearch 2.19)" \
        POST /_aliases "{\"actions\":[{\"add\":{\"index\":\"$f-2\",\"alias\":\"$other-alias\"}}]}"
    else
      expect "$who" 403 "foreign alias name on an indicator index" POST /_aliases "{\"actions\":[{\"add\":{\"index\":\"$f-2\",\"alias\":\"$other-alias\"}}]}"
    fi
    expect "$who" 403 "delete a Defender doc" DELETE "/$defender/_doc/e1"
    expect "$who" 403 "create an index template" PUT "/_index_template/$tpl-$who" '{"index_patterns":["zzz-*"]}'
    expect "$who" 403 "create another index" PUT "/$other-$who"
    expect "$who" 403 "search another index" POST "/$other/_search" '{}'
    expect "$who" 403 "delete the state index" DELETE "/$state"
    expect "$who" 403 "delete an alert index" DELETE "/$a"
    expect "$who" 403 "change cluster settings" PUT /_cluster/settings '{"persistent":{"search.max_buckets":65000}}'
    if [ $os = 1 ]; then
      expect "$who" 403 "security API" GET /_plugins/_security/api/roles
    else
      expect "$who" 403 "security API" GET /_security/user
    fi
  done
  expect installer 2xx "roll the alert alias over" POST "/$ro/_rollover"
  req detector POST "/$ro/_bulk" "{\"create\":{\"_id\":\"$R-after\"}}"$'\n'"{\"@timestamp\":\"2026-01-01T00:00:00Z\"}"$'\n' $nd
  if [[ "$BODY" == *"\"_index\":\"$ro-000002\""* ]] && [[ "$BODY" == *'"errors":false'* ]]; then
    row PASS detector "$CODE" 2xx "write after the rollover lands in $ro-000002"
  else row FAIL detector "$CODE" 2xx "write after the rollover lands in $ro-000002" "$BODY"; fi
  # uninstall lists what it deletes with _resolve (not _cat/indices: cluster:monitor/state).
  HAS="\"$alerts-installed\"" expect installer 2xx "list edgewatch indices (uninstall, _resolve)" \
    GET "/_resolve/index/edgewatch-*?expand_wildcards=open,closed"
  expect installer 2xx "delete an edgewatch index (uninstall)" DELETE "/$alerts-installed"
  req admin GET "/$defender/_count"
  if [[ "$BODY" == *'"count":5,'* ]]; then row PASS admin "$CODE" 200 "$defender still holds its 5 documents"
  else row FAIL admin "$CODE" 200 "$defender still holds its 5 documents" "$BODY"; fi

  # -- API keys (Elasticsearch) --
  if [ $os = 0 ]; then
    expect apikey 2xx "stored detector API key authenticates" GET /_security/_authenticate
    local rd; rd="$(grep -v '^ *"description": ' "$SECURITY_DIR/elasticsearch-detector.json" | tr -d '\n')"
    expect admin 2xx "create a second detector key" POST /_security/api_key "{\"name\":\"edgewatch-check-$R\",\"expiration\":\"1h\",\"role_descriptors\":{\"edgewatch_detector\":$rd}}"
    local enc kid; enc="$(field encoded)"; kid="$(field id)"
    HAS='"count":5,' expect "key:$enc" 2xx "the second key reads $defender" GET "/$defender/_count"
    expect "key:$enc" 403 "the second key cannot delete $defender" DELETE "/$defender"
    expect admin 2xx "invalidate the second key" DELETE /_security/api_key "{\"ids\":[\"$kid\"]}"
    expect "key:$enc" 401 "invalidated key → 401" GET "/defender-*/_count"
    expect "key:Zm9vOmJhcg==" 401 "bogus key → 401" GET /_security/_authenticate
  fi

  # -- clean up (admin) --
  req admin DELETE "/$defender,$other,$alerts-*,$feed-*"
  [[ "$CODE" == 2?? ]] || echo "     cleanup: $CODE $BODY"
  req admin DELETE "/_index_template/$tpl"
  if [ $os = 1 ]; then
    req admin DELETE "/_data_stream/$ds"
    req admin DELETE "/_index_template/$dstpl"
  fi
}

printf '%-4s %-13s %-9s %-5s %-5s %s\n' "" flavor identity got want check
for fl in "${flavors[@]}"; do
  case "$fl" in
    opensearch|elasticsearch) check_flavor "$fl" ;;
    *) echo "secure-check: unknown flavor '$fl'" >&2; exit 2 ;;
  esac
done
echo "secure-check: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
