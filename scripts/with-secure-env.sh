#!/usr/bin/env bash
# scripts/with-secure-env.sh CMD [ARG...] — runs CMD with the environment of the secured test
# servers (`scripts/cluster.sh env <flavor> --secure` for opensearch and elasticsearch:
# EDGEWATCH_<FLAVOR>_SECURE_URL, _CA_FILE, the admin, detector and installer users' names and
# password files, the Elasticsearch detector's API key file) and EDGEWATCH_REQUIRE_SECURE=1, so
# that a test needing them fails, never skips, when they are missing. `make test` runs the Go tests
# through it after `make clusters-secure-up`. Secrets stay in their files: only paths are exported.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 CMD [ARG...]" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for flavor in opensearch elasticsearch; do
  env_lines="$("$here/cluster.sh" env "$flavor" --secure)"
  eval "$env_lines"
done
export EDGEWATCH_REQUIRE_SECURE=1
exec "$@"
