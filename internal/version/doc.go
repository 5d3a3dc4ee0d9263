// Package version is the build identity that both edgewatch executables
// report: the release version, the commit and the build date, stamped at
// link time with -ldflags -X (see packaging/ and the Makefile), else read
// from the Go build information (`go install …@version`). A packaged host
// also carries the SHA-256 of the plugin it was built with, so that it
// verifies that plugin before starting it. Standard library only: the host
// and the plugin both import it.
package version
