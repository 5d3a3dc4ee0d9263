package plugin

import (
	goplugin "github.com/hashicorp/go-plugin"
)

// ProtocolVersion is the major version of the plugin protocol: the go-plugin
// handshake version and the protocol_version option of
// internal/proto/edgewatch/v1/detector.proto (a test keeps them equal). Bump it
// only with a new, separate proto file for a breaking change; additive changes
// keep it.
const ProtocolVersion = 1

// The magic cookie tells a plugin binary that a host started it. It is a UX
// feature, not a security measure: a binary run by hand sees no cookie and
// explains itself instead of waiting for a handshake.
//
// MagicCookieKey and MagicCookieValue must NEVER be changed: every released
// host and plugin compares them byte for byte, and a change makes all of them
// refuse each other.
const (
	MagicCookieKey   = "EDGEWATCH_PLUGIN_MAGIC_COOKIE"
	MagicCookieValue = "5b0d0d4c9a7e4f6b8c3f1e2a7d9b6c40-edgewatch-detector"
)

// detectorPluginName is the go-plugin plugin-set key of the detector service.
const detectorPluginName = "detector"

// handshake is the go-plugin handshake both sides use.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   MagicCookieKey,
	MagicCookieValue: MagicCookieValue,
}

// versionedPlugins is the plugin set offered per protocol version. A future
// v2 is served next to v1 here so that hosts of either version can negotiate.
func versionedPlugins(impl Detector) map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{
		ProtocolVersion: {detectorPluginName: &grpcPlugin{impl: impl}},
	}
}
