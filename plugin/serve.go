package plugin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/plugin/internal/logbridge"
	"github.com/edgewatch/edgewatch/plugin/internal/sessiontls"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// EnvLogLevel is the environment variable through which the host tells a
// plugin its log level ("trace", "debug", "info", "warn", "error"). Lines
// below the host's level would be dropped by the host anyway; this saves
// the plugin the work of writing them.
const EnvLogLevel = "EDGEWATCH_PLUGIN_LOG_LEVEL"

// Serve runs d as a plugin process and returns when the host closes the
// connection. Call it from main; nothing else belongs there.
//
// Started by hand (the host's magic cookie is not in the environment), it
// prints what the program is and how to use it through the host, and exits
// with status 1 (0 for --version).
func Serve(d Detector) {
	if os.Getenv(MagicCookieKey) != MagicCookieValue {
		os.Exit(runByHand(os.Stderr, os.Args[1:], d))
	}
	serve(d, handshake)
}

// serve serves d with the given handshake (tests pass other versions).
func serve(d Detector, hs goplugin.HandshakeConfig) {
	level, _ := logbridge.ParseLevel(os.Getenv(EnvLogLevel))
	// os.Stderr is captured here, before go-plugin redirects it: log lines go
	// to the real stderr, which the host parses.
	logger := slog.New(logbridge.NewJSONHandler(os.Stderr, level))
	logbridge.SetDefault(logger)

	go exitWithParent(logger, os.Getppid(), parentPollInterval)

	plugins := versionedPlugins(d)
	if int(hs.ProtocolVersion) != ProtocolVersion {
		plugins = map[int]goplugin.PluginSet{int(hs.ProtocolVersion): plugins[ProtocolVersion]}
	}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  hs,
		VersionedPlugins: plugins,
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(maxMessageBytes), grpc.MaxSendMsgSize(maxMessageBytes),
				grpc.ForceServerCodecV2(newCodec()),
				grpc.ChainUnaryInterceptor(inflight.unary), grpc.ChainStreamInterceptor(inflight.stream))
			return grpc.NewServer(opts...)
		},
		// The host's session keys; nil from a host that uses AutoMTLS.
		TLSProvider: sessiontls.FromEnv,
		Logger:      logbridge.NewHCLog(logger),
	})
	// go-plugin returns once the host asked the plugin to stop; the stop
	// cancelled every call's context. Give the handlers a moment to finish
	// their clean-up (close a PIT, abandon a window) before the process exits.
	if !inflight.wait(drainTimeout) {
		logger.Warn("plugin exiting with calls still running", "after", drainTimeout)
	}
}

// drainTimeout bounds how long a stopping plugin waits for its calls.
const drainTimeout = 3 * time.Second

// inflight counts the gRPC calls being served.
var inflight = &callTracker{}

type callTracker struct{ wg sync.WaitGroup }

func (t *callTracker) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	t.wg.Add(1)
	defer t.wg.Done()
	return h(ctx, req)
}

func (t *callTracker) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	t.wg.Add(1)
	defer t.wg.Done()
	return h(srv, ss)
}

// wait reports whether every call returned within d.
func (t *callTracker) wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// runByHand explains the program to a person who started it directly.
func runByHand(w io.Writer, args []string, d Detector) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := d.Describe(ctx)
	if err != nil || info.Name == "" {
		info.Name = filepath.Base(os.Args[0])
	}
	if info.ProtocolVersion == 0 {
		info.ProtocolVersion = ProtocolVersion
	}
	for _, a := range args {
		if a == "--version" || a == "-version" || a == "version" {
			fmt.Fprintf(w, "%s %s (edgewatch plugin protocol %d)\n", info.Name, info.Version, info.ProtocolVersion)
			return 0
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s is an edgewatch detector plugin (plugin protocol %d).\n", info.Name, info.Version, info.ProtocolVersion)
	if info.Description != "" {
		fmt.Fprintf(&b, "\n%s\n", info.Description)
	}
	fmt.Fprintf(&b, `
It is not run by hand: the edgewatch host starts it, talks to it over an
encrypted local gRPC channel, and passes it settings and secrets there.
Use it through the host, which finds it next to its own executable or in
--plugin-dir:

  edgewatch plugins
  edgewatch run --device-info DeviceInfo.ndjson --network-events DeviceNetworkEvents.ndjson \
                --feed ipsum.txt --min-level 3 --format table
`)
	if len(info.Operations) > 0 {
		fmt.Fprintf(&b, "\nOperations it offers through the host: %s\n", strings.Join(info.Operations, ", "))
	}
	fmt.Fprintf(&b, "\n%s --version prints its version.\n", info.Name)
	_, _ = io.WriteString(w, b.String())
	return 1
}

// parentPollInterval is how often a plugin checks that its host is alive.
const parentPollInterval = 500 * time.Millisecond

// exitWithParent ends the plugin process when the host that started it is
// gone (killed, crashed, or stopped by a second Ctrl-C): go-plugin ignores
// SIGINT in plugins and does not notice a vanished host by itself, so a
// plugin would otherwise be orphaned mid-run. A process whose parent dies is
// re-parented, so its parent pid changes.
func exitWithParent(logger *slog.Logger, ppid int, every time.Duration) {
	if ppid <= 1 {
		return // started by init: there is no host to watch
	}
	for range time.Tick(every) {
		if os.Getppid() != ppid {
			logger.Error("host process is gone; plugin exiting", "host_pid", ppid)
			os.Exit(3)
		}
	}
}
