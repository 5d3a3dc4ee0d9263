#!/usr/bin/env bash
# TEST INFRASTRUCTURE: builds the edgewatch-analysis-shim Elasticsearch plugin (see README.md).
#
# Usage: build.sh ES_HOME OUT_ZIP
#   ES_HOME  an unpacked Elasticsearch distribution: the plugin is compiled against its lib/*.jar
#            and declares its version (elasticsearch.version must match the server exactly)
#   OUT_ZIP  the plugin zip to write, for `bin/elasticsearch-plugin install file://OUT_ZIP`
# Needs a JDK 17+ (JAVA_HOME, default /usr/lib/jvm/java-17-openjdk-amd64): javac and jar only,
# no Maven, no network. scripts/cluster.sh calls it and caches the zip.
set -euo pipefail
[ $# -eq 2 ] || { sed -n '4,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="$1" out="$2"
jdk="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
[ -x "$jdk/bin/javac" ] || { echo "build.sh: no javac in $jdk (install a JDK 17, e.g. openjdk-17-jdk-headless)" >&2; exit 1; }
core="$(find "$home/lib" -maxdepth 1 -name 'elasticsearch-[0-9]*.jar' | head -n1)"
[ -n "$core" ] || { echo "build.sh: $home/lib has no elasticsearch-<version>.jar" >&2; exit 1; }
version="$(basename "$core" .jar)"; version="${version#elasticsearch-}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/classes" "$work/plugin"
mapfile -t sources < <(find "$src/src" -name '*.java' | sort)
"$jdk/bin/javac" --release 17 -Xlint:all -nowarn -d "$work/classes" -cp "$home/lib/*" "${sources[@]}"
"$jdk/bin/jar" --create --file "$work/plugin/edgewatch-analysis-shim-$version.jar" -C "$work/classes" .
cat > "$work/plugin/plugin-descriptor.properties" <<EOP
description=TEST ONLY (edgewatch): pattern_capture, lowercase, unique filters and uax_url_email tokenizer for the .security index
version=$version
name=edgewatch-analysis-shim
classname=edgewatch.testplugins.analysisshim.AnalysisShimPlugin
java.version=17
elasticsearch.version=$version
extended.plugins=
has.native.controller=false
EOP
mkdir -p "$(dirname "$out")"
# A plugin zip holds the descriptor and the jars at its root; jar writes a plain zip with -M.
"$jdk/bin/jar" --create --no-manifest --file "$out.tmp" -C "$work/plugin" .
mv "$out.tmp" "$out"
echo "build.sh: $out (elasticsearch $version)"
