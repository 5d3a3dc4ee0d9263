package plugin

import (
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"github.com/edgewatch/edgewatch/plugin/internal/sessiontls"
)

// startSession prepares cmd for mutual TLS with Ed25519 keys fresh for this
// launch (package sessiontls): the plugin's key reaches it through an
// inherited pipe, never the environment. It returns the host's TLS
// configuration and a function that closes the host's end of the pipe once
// the plugin has started.
//
// Where a child cannot inherit a pipe (Windows), it returns a nil
// configuration: the caller falls back to go-plugin's AutoMTLS.
func startSession(cmd *exec.Cmd) (*tls.Config, func(), error) {
	if runtime.GOOS == "windows" {
		return nil, func() {}, nil
	}
	s, err := sessiontls.New()
	if err != nil {
		return nil, nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("session TLS: %w", err)
	}
	// The bundle (~1 KiB) fits in the pipe's buffer: the write does not wait
	// for the plugin.
	_, err = w.Write(s.Bundle)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("session TLS: %w", err)
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, r)
	fd := 2 + len(cmd.ExtraFiles) // ExtraFiles[i] is descriptor 3+i in the child
	cmd.Env = append(cmd.Env,
		sessiontls.EnvFD+"="+strconv.Itoa(fd),
		// For a plugin built before sessions: go-plugin's AutoMTLS answers
		// this certificate with one of its own (see package sessiontls).
		sessiontls.EnvAutoMTLSCert+"="+string(s.HostCertPEM))
	return s.Host, func() { r.Close() }, nil
}
