// Command packaging builds edgewatch's release artefacts: for each target
// architecture (linux/amd64, linux/arm64) it cross-compiles the host and
// the plugin with CGO_ENABLED=0, stamps both with the version, commit and
// build date (internal/version) and the host with the plugin's SHA-256,
// generates shell completions and man pages from the cobra command tree,
// and writes a .deb and an .rpm (nfpm, from nfpm.yaml beside this file)
// and a .tar.gz, plus SHA256SUMS.
//
//	go run ./packaging --out dist                  # what `make package` runs
//	go run ./packaging --arch amd64 --format deb   # one package
//
// The assets the packages install live here too: edgewatch.service (the
// systemd unit), edgewatch.yaml (/etc/edgewatch/edgewatch.yaml) and the
// maintainer scripts in scripts/. It is not under cmd/, so that
// `go install github.com/edgewatch/edgewatch/cmd/...` does not install it.
package main
