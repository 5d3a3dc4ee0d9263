package plugin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/internal/testlog"
	"github.com/edgewatch/edgewatch/internal/testproc"
	"github.com/edgewatch/edgewatch/plugin/internal/sessiontls"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// self is the test binary, which serves as a plugin in helper modes.
func self(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func launchHelper(t testing.TB, mode string, opts Options) (*Client, error) {
	t.Helper()
	opts.Env = append(opts.Env, envHelper+"="+mode)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := Launch(context.Background(), self(t), opts)
	if c != nil {
		t.Cleanup(c.Close)
	}
	return c, err
}

func TestLaunchDescribes(t *testing.T) {
	c, err := launchHelper(t, "ok", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Info(); got.Name != "edgewatch-fake" || got.Version != "v0.0.1-test" || got.ProtocolVersion != ProtocolVersion {
		t.Errorf("info %+v", got)
	}
	if c.Pid() <= 0 || testproc.Gone(c.Pid()) {
		t.Fatalf("pid %d not running", c.Pid())
	}
	rec := &recorder{}
	res, err := c.Run(context.Background(), RunRequest{}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Summary) != `{"run_id":"helper"}` || len(rec.alerts) != 3 {
		t.Errorf("result %s, %d alerts", res.Summary, len(rec.alerts))
	}
	pid := c.Pid()
	c.Close()
	if !testproc.Gone(pid) {
		t.Errorf("plugin pid %d still exists after Close", pid)
	}
}

func TestLaunchFailures(t *testing.T) {
	exe := self(t)
	sum := sha256.New()
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	sum.Write(b)
	good := sum.Sum(nil)
	bad := bytes.Repeat([]byte{0xab}, 32)
	notExec := filepath.Join(t.TempDir(), "edgewatch-notexec")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := map[string]struct {
		path     string
		mode     string
		opts     Options
		wantIs   error
		wantText []string
	}{
		"missing": {path: filepath.Join(t.TempDir(), "edgewatch-nope"), mode: "ok",
			wantIs: ErrPluginNotFound, wantText: []string{"plugin not found", "edgewatch-nope"}},
		"not executable": {path: notExec, mode: "ok", wantIs: ErrPluginNotFound, wantText: []string{"not an executable"}},
		"wrong checksum": {path: exe, mode: "ok", opts: Options{SHA256: bad}, wantIs: ErrChecksumMismatch,
			wantText: []string{"plugin checksum mismatch", hex.EncodeToString(good), "expected " + hex.EncodeToString(bad), "not started"}},
		"wrong protocol version": {path: exe, mode: "v2", wantIs: ErrIncompatible,
			wantText: []string{"it speaks version 2", "this edgewatch speaks 1"}},
		"not a plugin": {path: exe, mode: "stdout", wantIs: ErrIncompatible, wantText: []string{"did not answer the edgewatch handshake"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.opts.Env = []string{envHelper + "=" + tc.mode}
			tc.opts.Logger = slog.New(slog.DiscardHandler)
			c, err := Launch(context.Background(), tc.path, tc.opts)
			if err == nil {
				c.Close()
				t.Fatal("Launch succeeded")
			}
			if !errors.Is(err, tc.wantIs) {
				t.Errorf("error %q, want errors.Is %v", err, tc.wantIs)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}

	t.Run("right checksum", func(t *testing.T) {
		if _, err := launchHelper(t, "ok", Options{SHA256: good}); err != nil {
			t.Fatalf("Launch with the right checksum: %v", err)
		}
	})
}

// TestLaunchKilledMidRun: the plugin dies while streaming; the host gets
// ErrPluginExited naming the plugin, not a raw transport error.
func TestLaunchKilledMidRun(t *testing.T) {
	c, err := launchHelper(t, "block", Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid := c.Pid()
	kill := &killOnFirst{pid: pid}
	_, err = c.Run(context.Background(), RunRequest{}, kill)
	if !errors.Is(err, ErrPluginExited) {
		t.Fatalf("error %v, want ErrPluginExited", err)
	}
	for _, w := range []string{"edgewatch-fake", "exited unexpectedly during run"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if kill.batches != 1 {
		t.Errorf("host saw %d batches before the kill", kill.batches)
	}
}

type killOnFirst struct {
	pid     int
	batches int
}

func (k *killOnFirst) Progress(context.Context, Progress) error { return nil }
func (k *killOnFirst) Alerts(context.Context, AlertBatch) error {
	k.batches++
	return testproc.Kill(k.pid)
}

// TestLaunchCancelledRun: the host cancels; the plugin sees it, exits, and
// leaves no process behind.
func TestLaunchCancelledRun(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "cancelled")
	c, err := launchHelper(t, "block", Options{Env: []string{envMarker + "=" + marker}})
	if err != nil {
		t.Fatal(err)
	}
	pid := c.Pid()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = c.Run(ctx, RunRequest{}, &cancelOnFirst{cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if !waitFor(func() bool { _, err := os.Stat(marker); return err == nil }) {
		t.Error("the plugin never saw the cancellation")
	}
	c.Close()
	if !testproc.Gone(pid) {
		t.Errorf("plugin pid %d still exists after a cancelled run", pid)
	}
}

// TestLaunchContextKills: cancelling Launch's context stops the process.
func TestLaunchContextKills(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c, err := Launch(ctx, self(t), Options{Env: []string{envHelper + "=ok"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pid := c.Pid()
	cancel()
	if !waitFor(func() bool { return c.Exited() && testproc.Gone(pid) }) {
		t.Errorf("plugin pid %d survived its context", pid)
	}
}

// TestLaunchKeepsSecretsOutOfEnv: secrets in the host's environment never
// reach the plugin process.
func TestLaunchKeepsSecretsOutOfEnv(t *testing.T) {
	t.Setenv("EDGEWATCH_PASSWORD", "hunter2-env")
	t.Setenv("EDGEWATCH_API_KEY", "key-env")
	t.Setenv("SOME_TOKEN", "tok-env")
	t.Setenv("EDGEWATCH_HARMLESS", "visible")
	c, err := launchHelper(t, "env", Options{})
	if err != nil {
		t.Fatal(err)
	}
	env := c.Info().Description
	for _, secret := range []string{"hunter2-env", "key-env", "tok-env"} {
		if strings.Contains(env, secret) {
			t.Errorf("plugin environment contains secret %q", secret)
		}
	}
	if strings.Contains(env, "PRIVATE KEY") {
		t.Error("plugin environment contains a private key (the session key belongs in the pipe)")
	}
	if !strings.Contains(env, "EDGEWATCH_HARMLESS=visible") {
		t.Error("ordinary variables should pass through")
	}
	if !strings.Contains(env, EnvLogLevel+"=") {
		t.Error("the plugin should be told the log level")
	}
}

// TestLaunchForwardsLogs: plugin slog lines arrive in the host's logger at
// their level with the plugin's name; stray stdout is logged, not printed.
func TestLaunchForwardsLogs(t *testing.T) {
	var buf testlog.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := launchHelper(t, "log", Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	// Stray stdout travels on go-plugin's asynchronous stdio stream.
	waitFor(func() bool { return strings.Contains(buf.String(), "stray stdout line") })
	c.Close()
	out := buf.String()
	var found bool
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"msg":"hello from the plugin"`) {
			found = true
			for _, w := range []string{`"level":"WARN"`, `"answer":42`, `"plugin":"` + filepath.Base(self(t)) + `"`} {
				if !strings.Contains(line, w) {
					t.Errorf("forwarded line %s lacks %s", line, w)
				}
			}
		}
	}
	if !found {
		t.Errorf("plugin log line not forwarded; host log:\n%s", out)
	}
	if !strings.Contains(out, `"line":"stray stdout line"`) {
		t.Errorf("stray plugin stdout not logged; host log:\n%s", out)
	}
}

func TestRunByHand(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	f := &fakeDetector{info: Info{Name: "edgewatch-defender-ti", Version: "v1.0.0", Description: "Finds things.", Operations: []string{"feed.load"}}}
	if code := runByHand(&buf, nil, f); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, w := range []string{"edgewatch-defender-ti v1.0.0 is an edgewatch detector plugin", "edgewatch run", "edgewatch plugins", "feed.load", "--plugin-dir"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("message lacks %q:\n%s", w, buf.String())
		}
	}
	buf.Reset()
	if code := runByHand(&buf, []string{"--version"}, f); code != 0 || !strings.HasPrefix(buf.String(), "edgewatch-defender-ti v1.0.0") {
		t.Errorf("--version: exit %d, %q", code, buf.String())
	}
}

// TestPluginExitsWithItsHost: a host killed outright (SIGKILL, or a second
// Ctrl-C) does not leave its plugin running.
func TestPluginExitsWithItsHost(t *testing.T) {
	cmd := exec.Command(self(t))
	cmd.Env = append(os.Environ(), envHelper+"=launcher")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("launcher: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || testproc.Gone(pid) {
		_ = cmd.Process.Kill()
		t.Fatalf("plugin pid %q: %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The orphan is re-parented (to init or a subreaper, which reaps it).
	if !waitFor(func() bool { return testproc.Gone(pid) || zombie(pid) }) {
		_ = testproc.Kill(pid)
		t.Fatalf("plugin pid %d outlived its host", pid)
	}
}

// zombie reports whether pid has exited but not been reaped yet.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// TestLaunchSessionTLS: the host and its plugin talk over mutual TLS with
// Ed25519 session keys; a plugin built before sessions (AutoMTLS only) and
// a host that uses AutoMTLS (an older edgewatch) still connect.
func TestLaunchSessionTLS(t *testing.T) {
	t.Run("session", func(t *testing.T) {
		c, err := launchHelper(t, "env", Options{})
		if err != nil {
			t.Fatal(err)
		}
		// The plugin was told where its session keys are (a plugin that
		// cannot read them exits before the handshake) ...
		if !strings.Contains(c.Info().Description, sessiontls.EnvFD+"=3") {
			t.Errorf("plugin environment lacks %s=3", sessiontls.EnvFD)
		}
		// ... and the calls work over the session.
		if _, err := c.Run(context.Background(), RunRequest{}, nopStream{}); err != nil {
			t.Fatalf("run over session TLS: %v", err)
		}
	})
	t.Run("plugin with AutoMTLS only", func(t *testing.T) {
		c, err := launchHelper(t, "automtls", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Run(context.Background(), RunRequest{}, nopStream{}); err != nil {
			t.Fatalf("run over AutoMTLS: %v", err)
		}
	})
	t.Run("host with AutoMTLS", func(t *testing.T) {
		cmd := exec.Command(self(t))
		cmd.Env = append(os.Environ(), envHelper+"=ok")
		gp := goplugin.NewClient(&goplugin.ClientConfig{
			HandshakeConfig:  handshake,
			VersionedPlugins: versionedPlugins(nil),
			Cmd:              cmd,
			AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
			AutoMTLS:         true,
			Logger:           hclog.NewNullLogger(),
			GRPCDialOptions:  []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.ForceCodecV2(newCodec()))},
		})
		defer gp.Kill()
		proto, err := gp.Client()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := proto.Dispense(detectorPluginName)
		if err != nil {
			t.Fatal(err)
		}
		info, err := raw.(*grpcClient).Describe(context.Background())
		if err != nil || info.Name != "edgewatch-fake" {
			t.Fatalf("describe over AutoMTLS: %+v, %v", info, err)
		}
	})
}
