// Package sessiontls is the mutual TLS of one host–plugin session.
//
// go-plugin's AutoMTLS makes the host and the plugin each generate a P-521
// certificate and sign the TLS handshake with it: about 25 ms of CPU per
// launch on the reference machine, more than half of what a plugin start
// costs. A session here uses Ed25519 instead (key generation and a
// signature take microseconds) with the same trust model: every key is
// fresh for one launch, each side trusts exactly the other's certificate,
// and nothing but public certificates passes through the environment.
//
// The host generates both key pairs (New). It keeps its own and hands the
// plugin its key and certificate, with the host's certificate, through an
// inherited pipe whose descriptor it names in EnvFD: a private key never
// appears in the environment, on a command line or on disk. The plugin
// reads the pipe once (Plugin) and returns the result as go-plugin's
// TLSProvider.
//
// The host also sets go-plugin's PLUGIN_CLIENT_CERT to its certificate, so
// that a plugin built before sessions (AutoMTLS only) still connects: it
// answers with a P-521 certificate of its own in the handshake line, which
// go-plugin installs as the host's trusted root.
package sessiontls
