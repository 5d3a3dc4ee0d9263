#!/usr/bin/env bash
# proto.sh installs the protobuf tool chain (protoc from Debian, the Go
# generators at pinned versions) and regenerates the plugin protocol's Go code.
# Usage: scripts/proto.sh            install if missing, then generate
#        scripts/proto.sh --check    generate into a temp dir and fail when the
#                                    committed code differs
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.5.1

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v protoc >/dev/null 2>&1; then
	echo "proto.sh: installing protobuf-compiler (Debian)" >&2
	if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
	$sudo apt-get install -y protobuf-compiler >/dev/null || {
		$sudo apt-get update >/dev/null && $sudo apt-get install -y protobuf-compiler >/dev/null
	}
fi

gobin=$(go env GOPATH)/bin
export PATH="$gobin:$PATH"
have_version() { # binary module version
	[ -x "$gobin/$1" ] && go version -m "$gobin/$1" 2>/dev/null | grep -q "mod[[:space:]]*$2[[:space:]]*$3"
}
if ! have_version protoc-gen-go google.golang.org/protobuf "$PROTOC_GEN_GO_VERSION"; then
	GOFLAGS= go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi
if ! have_version protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"; then
	GOFLAGS= go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
fi

src=plugin/internal/proto
out=$src
if [ "${1:-}" = "--check" ]; then
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
fi

# Includes: the project's proto root, then protoc's bundled well-known types.
inc=()
for d in /usr/include /usr/local/include; do
	[ -f "$d/google/protobuf/descriptor.proto" ] && inc+=("-I$d") && break
done

for f in $(cd "$src" && find . -name '*.proto' | sort); do
	protoc -I"$src" "${inc[@]}" \
		--go_out="$out" --go_opt=paths=source_relative \
		--go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
		"$src/${f#./}"
done

if [ "${1:-}" = "--check" ]; then
	if ! diff -r -x '*.proto' -x doc.go "$src" "$out" >/dev/null; then
		diff -r -x '*.proto' -x doc.go "$src" "$out" || true
		echo "proto.sh: generated code is stale; run make proto" >&2
		exit 1
	fi
	echo "proto.sh: generated code is up to date"
fi
