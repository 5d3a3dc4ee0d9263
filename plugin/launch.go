package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/plugin/internal/logbridge"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// DefaultStartTimeout bounds start-up plus handshake. A healthy plugin takes
// a few milliseconds; the margin is for a loaded machine.
const DefaultStartTimeout = 20 * time.Second

// exitGrace is how long the host waits, after a broken connection, for the
// plugin process to be seen as exited before it blames the transport instead.
const exitGrace = 2 * time.Second

// ParseLogLevel reads a log level name as the host and its plugins use it:
// trace, debug, info (or empty), warn (or warning), error, in any case; ok
// is false for anything else.
func ParseLogLevel(s string) (level slog.Level, ok bool) { return logbridge.ParseLevel(s) }

// Options configure Launch. The zero value is valid.
type Options struct {
	// Logger receives the plugin's log lines (with a "plugin" attribute)
	// and anything it prints outside its logger. Default: slog.Default().
	Logger *slog.Logger
	// SHA256 is the expected checksum of the plugin executable; when set, a
	// binary with another checksum is not started.
	SHA256 []byte
	// StartTimeout bounds start-up and handshake (DefaultStartTimeout).
	StartTimeout time.Duration
	// Env adds variables to the plugin's environment. Never put secrets
	// here: they belong in RunRequest.Secrets.
	Env []string
}

// Client is a running plugin process, seen from the host. It implements
// Detector and Admin by calling the plugin; errors name the plugin and turn
// a dead process into ErrPluginExited. Close it when done.
type Client struct {
	gp      *goplugin.Client
	rpc     *grpcClient
	info    Info
	path    string
	name    string
	pid     int
	started time.Duration

	closeOnce sync.Once
	done      chan struct{}
}

var (
	_ Detector = (*Client)(nil)
	_ Admin    = (*Client)(nil)
)

// Launch starts the plugin executable at path, verifies its checksum when
// opts.SHA256 is set, performs the go-plugin handshake (gRPC only, mutual
// TLS with keys fresh for this launch: see startSession), and calls
// Describe. The process is killed when ctx is done or Close is called.
// Errors are one line and wrap ErrPluginNotFound, ErrChecksumMismatch,
// ErrIncompatible or ErrPluginExited where they apply.
func Launch(ctx context.Context, path string, opts Options) (*Client, error) {
	start := time.Now()
	name := filepath.Base(path)
	if err := checkExecutable(path); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}

	cmd := exec.Command(path)
	cmd.Env = append(pluginEnv(os.Environ()), opts.Env...)
	cmd.Env = append(cmd.Env, EnvLogLevel+"="+logbridge.LevelName(minLevel(ctx, logger)))

	tlsConfig, closeTLS, err := startSession(cmd)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", name, err)
	}
	defer closeTLS()

	var secure *goplugin.SecureConfig
	if len(opts.SHA256) > 0 {
		secure = &goplugin.SecureConfig{Checksum: opts.SHA256, Hash: sha256.New()}
	}
	plog := logger.With(logbridge.NameKey, name)
	gp := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: versionedPlugins(nil),
		Cmd:              cmd,
		SkipHostEnv:      true, // cmd.Env is the filtered host environment
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		TLSConfig:        tlsConfig,
		AutoMTLS:         tlsConfig == nil,
		SecureConfig:     secure,
		StartTimeout:     timeout,
		Logger:           logbridge.NewHCLog(logger),
		// Anything the plugin prints outside its logger is logged, never
		// mixed into the host's stdout (which may carry NDJSON output).
		SyncStdout: logbridge.LineWriter(plog, slog.LevelInfo, "plugin stdout", "line"),
		SyncStderr: logbridge.LineWriter(plog, slog.LevelWarn, "plugin stderr", "line"),
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes),
				grpc.ForceCodecV2(newCodec())),
		},
	})

	c := &Client{gp: gp, path: path, name: name, done: make(chan struct{})}
	protocol, err := gp.Client()
	if err != nil {
		gp.Kill()
		return nil, c.startError(err, opts.SHA256)
	}
	if rc := gp.ReattachConfig(); rc != nil {
		c.pid = rc.Pid
	}
	raw, err := protocol.Dispense(detectorPluginName)
	if err != nil {
		gp.Kill()
		return nil, fmt.Errorf("plugin %s: %w: %v", name, ErrIncompatible, err)
	}
	rpc, ok := raw.(*grpcClient)
	if !ok {
		gp.Kill()
		return nil, fmt.Errorf("plugin %s: %w: unexpected client type %T", name, ErrIncompatible, raw)
	}
	c.rpc = rpc
	go func() {
		select {
		case <-ctx.Done():
			c.Close()
		case <-c.done:
		}
	}()

	info, err := rpc.Describe(ctx)
	if err != nil {
		err = c.callError(ctx, "describe", err)
		c.Close()
		return nil, err
	}
	if info.ProtocolVersion != 0 && info.ProtocolVersion != ProtocolVersion {
		c.Close()
		return nil, fmt.Errorf("plugin %s (%s): %w: it reports version %d, this edgewatch speaks %d",
			name, path, ErrIncompatible, info.ProtocolVersion, ProtocolVersion)
	}
	c.info = info
	if info.Name != "" {
		c.name = info.Name
	}
	c.started = time.Since(start)
	logger.Debug("plugin started", "plugin", c.name, "version", info.Version, "pid", c.pid,
		"path", path, "startup", c.started)
	return c, nil
}

// minLevel is the lowest level logger lets through, for the plugin's env.
func minLevel(ctx context.Context, l *slog.Logger) slog.Level {
	for _, lv := range []slog.Level{logbridge.LevelTrace, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		if l.Enabled(ctx, lv) {
			return lv
		}
	}
	return slog.LevelError
}

// Info is what Describe returned at launch.
func (c *Client) Info() Info { return c.info }

// Path is the plugin executable.
func (c *Client) Path() string { return c.path }

// Pid is the plugin process id.
func (c *Client) Pid() int { return c.pid }

// StartupTime is how long start-up, handshake and the first Describe took.
func (c *Client) StartupTime() time.Duration { return c.started }

// Exited reports whether the plugin process has exited.
func (c *Client) Exited() bool { return c.gp.Exited() }

// Close asks the plugin to shut down, waits briefly, and kills it if it
// does not. It is safe to call more than once.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.gp.Kill()
	})
}

// Describe calls the plugin's Describe.
func (c *Client) Describe(ctx context.Context) (Info, error) {
	info, err := c.rpc.Describe(ctx)
	return info, c.callError(ctx, "describe", err)
}

// Validate calls the plugin's Validate.
func (c *Client) Validate(ctx context.Context, cfg Config) ([]Diagnostic, error) {
	d, err := c.rpc.Validate(ctx, cfg)
	return d, c.callError(ctx, "validate", err)
}

// Run runs a detection in the plugin, feeding s as events arrive.
func (c *Client) Run(ctx context.Context, req RunRequest, s Stream) (Result, error) {
	res, err := c.rpc.Run(ctx, req, s)
	return res, c.callError(ctx, "run", err)
}

// Exec runs an Admin operation in the plugin.
func (c *Client) Exec(ctx context.Context, op string, args json.RawMessage, secrets map[string]string, s Stream) (json.RawMessage, error) {
	res, err := c.rpc.Exec(ctx, op, args, secrets, s)
	return res, c.callError(ctx, op, err)
}

// callError names the plugin in err and recognises a dead plugin process.
func (c *Client) callError(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, ErrUnsupported) || errors.Is(err, ErrUnknownOp) {
		return fmt.Errorf("plugin %s: %w", c.name, err)
	}
	var remote *RemoteError
	if !errors.As(err, &remote) {
		// The host's own Stream failed (e.g. the output file): not the plugin.
		return err
	}
	switch remote.Code {
	case codes.Unavailable, codes.Canceled, codes.Internal:
		// A transport failure: a dead plugin is the common cause.
		if c.waitExited() {
			return fmt.Errorf("plugin %s (pid %d): %w during %s", c.name, c.pid, ErrPluginExited, what)
		}
		if remote.Code == codes.Unavailable {
			return fmt.Errorf("plugin %s: %s: connection lost: %s", c.name, what, remote.Message)
		}
	default:
		if c.gp.Exited() {
			return fmt.Errorf("plugin %s (pid %d): %w during %s", c.name, c.pid, ErrPluginExited, what)
		}
	}
	return fmt.Errorf("plugin %s: %s: %w", c.name, what, err)
}

// waitExited polls, for up to exitGrace, whether the process has exited: a
// killed plugin's connection breaks a moment before its exit is reaped.
func (c *Client) waitExited() bool {
	deadline := time.Now().Add(exitGrace)
	for {
		if c.gp.Exited() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkExecutable gives a plugin that is not there a clear error before
// go-plugin tries to run it.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrPluginNotFound, path)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrPluginNotFound, path, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w: %s is not an executable file", ErrPluginNotFound, path)
	}
	return nil
}

var pluginVersionRE = regexp.MustCompile(`Plugin version: (\d+)`)

// startError turns go-plugin's start-up errors into one-line errors.
func (c *Client) startError(err error, want []byte) error {
	msg := err.Error()
	switch {
	case errors.Is(err, goplugin.ErrChecksumsDoNotMatch):
		got, _ := FileSHA256(c.path)
		return fmt.Errorf("%w: %s has sha256 %s, expected %s; not started",
			ErrChecksumMismatch, c.path, got, hex.EncodeToString(want))
	case strings.Contains(msg, "incompatible API version"), strings.Contains(msg, "incompatible core API version"):
		theirs := "another version"
		if m := pluginVersionRE.FindStringSubmatch(msg); m != nil {
			theirs = "version " + m[1]
		}
		return fmt.Errorf("plugin %s (%s): %w: it speaks %s, this edgewatch speaks %d; install host and plugin from the same release",
			c.name, c.path, ErrIncompatible, theirs, ProtocolVersion)
	case strings.Contains(msg, "Unrecognized remote plugin message"), strings.Contains(msg, "unsupported plugin protocol"):
		return fmt.Errorf("plugin %s (%s): %w: it did not answer the edgewatch handshake (is it an edgewatch plugin?)",
			c.name, c.path, ErrIncompatible)
	case strings.Contains(msg, "plugin exited before we could connect"):
		return fmt.Errorf("plugin %s (%s): %w before the handshake (see its log lines above)", c.name, c.path, ErrPluginExited)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("plugin %s (%s): start-up timed out", c.name, c.path)
	}
	return fmt.Errorf("plugin %s (%s): start: %s", c.name, c.path, firstLine(msg))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// FileSHA256 is the hex SHA-256 of a file: what --plugin-sha256 takes and
// what packaging compiles into the host for the plugin it ships.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// secretEnvWords mark environment variables that are never passed to a
// plugin process: credentials go over the plugin channel only.
var secretEnvWords = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "CREDENTIAL", "PRIVATE_KEY"}

// pluginEnv is the host environment minus anything that looks like a secret
// and minus go-plugin's own variables (it sets those itself).
func pluginEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		uk := strings.ToUpper(k)
		if k == MagicCookieKey || k == EnvLogLevel || strings.HasPrefix(uk, "PLUGIN_") {
			continue
		}
		secret := false
		for _, w := range secretEnvWords {
			if strings.Contains(uk, w) {
				secret = true
				break
			}
		}
		if !secret {
			out = append(out, kv)
		}
	}
	return out
}

// ParseSHA256 decodes a hex SHA-256 checksum.
func ParseSHA256(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("invalid sha256 %q: want 64 hex digits", s)
	}
	return b, nil
}
