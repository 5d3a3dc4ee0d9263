package plugin

import "errors"

// Errors the host-side client returns, each wrapped with the plugin's name and
// path; check them with errors.Is. Their messages never carry secrets.
var (
	// ErrPluginNotFound: the plugin executable does not exist or is not
	// executable. Remedy: build it (make build) or pass --plugin-dir.
	ErrPluginNotFound = errors.New("plugin not found")

	// ErrChecksumMismatch: the plugin binary's SHA-256 differs from the
	// configured --plugin-sha256. The binary was not started.
	ErrChecksumMismatch = errors.New("plugin checksum mismatch")

	// ErrIncompatible: the plugin speaks another protocol version (or is not
	// an edgewatch plugin at all). Remedy: install host and plugin from the
	// same release.
	ErrIncompatible = errors.New("incompatible plugin protocol version")

	// ErrPluginExited: the plugin process exited (crashed, was killed) while
	// the host was talking to it.
	ErrPluginExited = errors.New("plugin exited unexpectedly")

	// ErrUnsupported: the plugin does not implement an optional capability
	// (an opt-in interface such as Admin), answered with codes.Unimplemented.
	ErrUnsupported = errors.New("plugin does not support")

	// ErrUnknownOp: the plugin implements Admin but offers no operation of
	// that name.
	ErrUnknownOp = errors.New("operation not available in this plugin")

	// ErrInvalidResponse: the plugin broke the protocol (for example a run
	// stream that ended without a result).
	ErrInvalidResponse = errors.New("invalid plugin response")
)
