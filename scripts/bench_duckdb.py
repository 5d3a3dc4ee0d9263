"""DuckDB baseline for `make bench`: the seed query, corrected as edgewatch
runs it (README "Where edgewatch differs from the seed query"), over the same
NDJSON files.

    bench_duckdb.py --device-info F --network-events F --feed F (--count | --out F)

Semantics (DESIGN.md): over DeviceInfo, the latest row per (DeviceId,
InternetFacingLocalPort) by Timestamp, rows without a port ignored, kept
when IsInternetFacing; network events with ActionType
InboundConnectionAccepted on that device and port whose RemoteIP, unmapped
from IPv4-mapped IPv6, is in the feed. Ports may be JSON numbers or strings;
AdditionalFields is JSON text (Advanced Hunting) or an object. Identical
duplicate rows count once, as edgewatch collapses them by finding id.

Prints one JSON line: {"count": N, "seconds": query wall time}.
"""

import argparse
import json
import time

import duckdb

EVENT_COLUMNS = {
    "Timestamp": "VARCHAR",
    "DeviceId": "VARCHAR",
    "DeviceName": "VARCHAR",
    "ActionType": "VARCHAR",
    "RemoteIP": "VARCHAR",
    "RemotePort": "VARCHAR",
    "RemoteUrl": "VARCHAR",
    "LocalIP": "VARCHAR",
    "LocalPort": "VARCHAR",
    "Protocol": "VARCHAR",
    "InitiatingProcessFileName": "VARCHAR",
    "InitiatingProcessId": "BIGINT",
    "InitiatingProcessFolderPath": "VARCHAR",
    "ReportId": "BIGINT",
}

DEVICE_COLUMNS = {
    "Timestamp": "VARCHAR",
    "DeviceId": "VARCHAR",
    "IsInternetFacing": "BOOLEAN",
    "AdditionalFields": "JSON",
}


def columns(spec):
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in spec.items()) + "}"


def query(args):
    # AdditionalFields: JSON text holding an object (Advanced Hunting) or the
    # object itself (Sentinel); a JSON string is unwrapped once.
    return f"""
WITH di AS (
    SELECT DeviceId, IsInternetFacing, CAST(Timestamp AS TIMESTAMP) AS ts,
           CASE WHEN json_type(AdditionalFields) = 'VARCHAR'
                THEN json(AdditionalFields ->> '$') ELSE AdditionalFields END AS af
    FROM read_json('{args.device_info}', format = 'newline_delimited',
                   columns = {columns(DEVICE_COLUMNS)})
),
ports AS (
    SELECT DeviceId, IsInternetFacing, ts,
           TRY_CAST(af ->> '$.InternetFacingLocalPort' AS INTEGER) AS port
    FROM di
),
facing AS (
    SELECT DeviceId, port
    FROM ports
    WHERE port IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY DeviceId, port ORDER BY ts DESC) = 1
        AND IsInternetFacing
),
feed AS (
    SELECT DISTINCT trim(split_part(column0, '#', 1)) AS ip
    FROM read_csv('{args.feed}', header = false, columns = {{'column0': 'VARCHAR'}},
                  delim = '\\t', comment = '#', auto_detect = false)
    WHERE trim(split_part(column0, '#', 1)) <> ''
),
ev AS (
    SELECT *,
           CASE WHEN lower(RemoteIP) LIKE '::ffff:%' AND RemoteIP LIKE '%.%.%.%'
                THEN substr(RemoteIP, 8) ELSE RemoteIP END AS remote
    FROM read_json('{args.network_events}', format = 'newline_delimited',
                   columns = {columns(EVENT_COLUMNS)})
    WHERE ActionType = 'InboundConnectionAccepted'
),
matched AS (
    SELECT DISTINCT ev.* EXCLUDE (remote)
    FROM ev
    JOIN facing ON facing.DeviceId = ev.DeviceId AND facing.port = TRY_CAST(ev.LocalPort AS INTEGER)
    JOIN feed ON feed.ip = ev.remote
)
"""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device-info", required=True)
    p.add_argument("--network-events", required=True)
    p.add_argument("--feed", required=True)
    p.add_argument("--threads", type=int, default=0)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--count", action="store_true", help="count the matches only")
    g.add_argument("--out", help="write the matched rows as NDJSON")
    args = p.parse_args()

    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    q = query(args)
    start = time.perf_counter()
    if args.count:
        n = con.execute(q + "SELECT count(*) FROM matched").fetchone()[0]
        secs = time.perf_counter() - start
    else:
        con.execute(f"COPY ({q} SELECT * FROM matched) TO '{args.out}' (FORMAT json)")
        secs = time.perf_counter() - start
        n = con.execute(f"SELECT count(*) FROM read_json('{args.out}', format = 'newline_delimited')").fetchone()[0]
    print(json.dumps({"count": n, "seconds": round(secs, 4), "duckdb": duckdb.__version__}))


if __name__ == "__main__":
    main()
