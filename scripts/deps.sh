#!/usr/bin/env bash
# Installs what the test suite needs beyond Go and Java: Debian's chromium
# (headless report test), unzip/curl (cluster script), openssl (the secured
# servers' test CA), a JDK 17 with javac (the secured Elasticsearch's test
# plugin), rpm and systemd (package tests). Idempotent; does nothing when
# everything is present. Go modules come from the module proxy on first build;
# OpenSearch/Elasticsearch come from Maven Central through scripts/cluster.sh.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v mvn >/dev/null 2>&1 || need+=(maven)
# The package tests (packaging/): rpm reads the .rpm, systemd-analyze
# verifies the unit; dpkg is part of every Debian system.
command -v rpm >/dev/null 2>&1 || need+=(rpm)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x "${EDGEWATCH_JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}/bin/javac" ] || need+=(openjdk-17-jdk-headless)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing ${need[*]}; run as root or install them: apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
