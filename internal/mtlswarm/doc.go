// Package mtlswarm takes the one-off cost of go-plugin's automatic mutual
// TLS off the start-up path of a plugin and of its host.
//
// go-plugin's AutoMTLS makes each side generate a P-521 certificate. The
// first P-521 key generation in a process builds the curve's precomputed
// base-point table, about 10 ms of CPU before the plugin can print its
// handshake line; every later key generation takes under 1 ms. This package
// builds that table on a background goroutine while the rest of the process
// initialises (package init, flag parsing, plugin discovery), on the other
// core, so go-plugin finds it ready. Measured on 2 cores: `edgewatch
// plugins` 3–8 ms faster (the host's table), a plugin launch 1–3 ms (the
// plugin's initialisation already keeps the other core busy).
//
// Importing the package starts the warm-up in a plugin process (go-plugin
// sets PLUGIN_CLIENT_CERT when it launches a plugin with AutoMTLS); a host
// imports mtlswarm/eager, or calls Start, to warm its own side.
package mtlswarm
