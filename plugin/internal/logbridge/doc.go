// Package logbridge connects go-plugin's hclog logging to log/slog in both
// directions: on the host, plugin log lines (which go-plugin parses into
// hclog calls) are forwarded into the host's slog logger; in the plugin,
// slog records are written as the hclog JSON lines go-plugin knows how to
// parse.
package logbridge
