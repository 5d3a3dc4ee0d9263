package sessiontls

import (
	"bytes"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/pem"
	"net"
	"strings"
	"testing"
	"time"
)

// handshake runs a TLS handshake between a host and a plugin configuration
// over loopback TCP and returns the host's and plugin's errors.
func handshake(t *testing.T, host, plugin *tls.Config) (hostErr, pluginErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		s := tls.Server(conn, plugin)
		// TLS 1.3 verifies the client's certificate after the client has
		// finished: the first read tells the outcome.
		_, err = s.Read(make([]byte, 1))
		done <- err
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := tls.Client(conn, host)
	if hostErr = c.Handshake(); hostErr == nil {
		_, hostErr = c.Write([]byte{1})
	}
	conn.Close()
	return hostErr, <-done
}

// session starts a session and reads its bundle as the plugin does.
func session(t *testing.T) (*Session, *tls.Config) {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	plugin, err := Plugin(bytes.NewReader(s.Bundle))
	if err != nil {
		t.Fatal(err)
	}
	return s, plugin
}

func TestSessionHandshake(t *testing.T) {
	s, plugin := session(t)
	if _, ok := plugin.Certificates[0].PrivateKey.(ed25519.PrivateKey); !ok {
		t.Errorf("plugin key is %T, want ed25519", plugin.Certificates[0].PrivateKey)
	}
	if hostErr, pluginErr := handshake(t, s.Host, plugin); hostErr != nil || pluginErr != nil {
		t.Fatalf("handshake: host %v, plugin %v", hostErr, pluginErr)
	}
	if !strings.Contains(string(s.HostCertPEM), "BEGIN CERTIFICATE") || strings.Contains(string(s.HostCertPEM), "PRIVATE") {
		t.Errorf("HostCertPEM is not just a certificate:\n%s", s.HostCertPEM)
	}
}

// TestSessionsTrustOnlyEachOther: a host of one session cannot talk to the
// plugin of another, in either direction.
func TestSessionsTrustOnlyEachOther(t *testing.T) {
	s1, p1 := session(t)
	s2, _ := session(t)
	// s2's host does not trust p1's certificate.
	if hostErr, _ := handshake(t, s2.Host, p1); hostErr == nil {
		t.Error("a host accepted another session's plugin")
	}
	// p1 does not accept s2's host certificate even when that host is told
	// to trust p1.
	impostor := s2.Host.Clone()
	impostor.RootCAs = s1.Host.RootCAs
	if _, pluginErr := handshake(t, impostor, p1); pluginErr == nil {
		t.Error("a plugin accepted another session's host")
	}
}

func TestPluginRefusesBadBundles(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	without := func(typ string) []byte {
		var out []byte
		for rest := s.Bundle; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				return out
			}
			if b.Type != typ {
				out = append(out, pem.EncodeToMemory(b)...)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		bundle []byte
		want   string
	}{
		{"empty", nil, "no " + pemPluginCert},
		{"no key", without(pemPluginKey), "no " + pemPluginKey},
		{"no host certificate", without(pemHostCert), "no " + pemHostCert},
		{"garbage key", bytes.Replace(s.Bundle, []byte("PRIVATE KEY-----\n"), []byte("PRIVATE KEY-----\nAAAA"), 1), "plugin key"},
		{"too large", bytes.Repeat([]byte("x"), maxBundle+1), "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plugin(bytes.NewReader(tc.bundle))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Plugin: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	t.Run("no session", func(t *testing.T) {
		t.Setenv(EnvFD, "")
		cfg, err := FromEnv()
		if cfg != nil || err != nil {
			t.Errorf("FromEnv = %v, %v; want nil, nil (AutoMTLS)", cfg, err)
		}
	})
	for _, v := range []string{"x", "1", "-4"} {
		t.Run("bad "+v, func(t *testing.T) {
			t.Setenv(EnvFD, v)
			if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), EnvFD) {
				t.Errorf("FromEnv with %s=%q: %v, want an error naming it", EnvFD, v, err)
			}
		})
	}
}
