package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	testPassword = "s3cret-Pa55word"
	testAPIKey   = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
)

func TestConfigRedactsSecrets(t *testing.T) {
	cfg := Config{
		URLs:     []string{"https://elastic:" + testPassword + "@es.example:9200", "https://es2.example:9200"},
		Username: "elastic", Password: testPassword, APIKey: testAPIKey, CAFile: "/etc/ca.pem",
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("connecting", "cluster", cfg)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("connecting", "cluster", cfg)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	renders := map[string]string{
		"String":  cfg.String(),
		"%v":      fmt.Sprintf("%v", cfg),
		"%+v":     fmt.Sprintf("%+v", cfg),
		"%#v":     fmt.Sprintf("%#v", cfg),
		"ptr":     fmt.Sprint(&cfg),
		"slog":    logBuf.String(),
		"json":    string(js),
		"wrapped": fmt.Errorf("connect %v: boom", cfg).Error(),
	}
	for name, s := range renders {
		if strings.Contains(s, testPassword) || strings.Contains(s, testAPIKey) {
			t.Errorf("%s leaks a secret: %s", name, s)
		}
	}
	if !strings.Contains(cfg.String(), "password=[redacted]") || !strings.Contains(cfg.String(), "api_key=[redacted]") {
		t.Errorf("String() should say the secrets are set: %s", cfg.String())
	}
	if !strings.Contains(renders["slog"], "es2.example") || !strings.Contains(renders["slog"], `"username":"elastic"`) {
		t.Errorf("slog output lost the non-secret fields: %s", renders["slog"])
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name     string
		in       Config
		wantURLs []string
		wantUser string
		wantPass string
		wantErr  bool
	}{
		{name: "userinfo moves to credentials", in: Config{URLs: []string{"http://u:" + testPassword + "@127.0.0.1:9201/"}},
			wantURLs: []string{"http://127.0.0.1:9201"}, wantUser: "u", wantPass: testPassword},
		{name: "explicit credentials win", in: Config{URLs: []string{"http://x:y@h:1"}, Username: "a", Password: "b"},
			wantURLs: []string{"http://h:1"}, wantUser: "a", wantPass: "b"},
		{name: "blank entries dropped", in: Config{URLs: []string{" http://h:1 ", ""}}, wantURLs: []string{"http://h:1"}},
		{name: "no url", in: Config{}, wantErr: true},
		{name: "bad scheme", in: Config{URLs: []string{"ftp://h"}}, wantErr: true},
		{name: "no host", in: Config{URLs: []string{"http://"}}, wantErr: true},
		{name: "password without user", in: Config{URLs: []string{"http://h"}, Password: "p"}, wantErr: true},
		{name: "missing CA file", in: Config{URLs: []string{"https://h"}, CAFile: "/nonexistent/ca.pem"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Normalize()
			if tt.wantErr {
				if err == nil || !errors.Is(err, ErrConfig) {
					t.Fatalf("err = %v, want ErrConfig", err)
				}
				if strings.Contains(err.Error(), testPassword) {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got.URLs) != fmt.Sprint(tt.wantURLs) || got.Username != tt.wantUser || got.Password != tt.wantPass {
				t.Fatalf("got urls=%v user=%q pass=%q", got.URLs, got.Username, got.Password)
			}
		})
	}
}

func TestSecretFromEnvOrFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte(testPassword+"\nignored second line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, env, file, want string
		wantErr               bool
	}{
		{name: "env wins", env: "from-env", file: file, want: "from-env"},
		{name: "file first line", file: file, want: testPassword},
		{name: "neither", want: ""},
		{name: "missing file", file: filepath.Join(dir, "nope"), wantErr: true},
		{name: "empty file", file: empty, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("EW_TEST_SECRET", tt.env)
			t.Setenv("EW_TEST_SECRET_FILE", tt.file)
			got, err := SecretFromEnvOrFile("EW_TEST_SECRET")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(testPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EW_X_URL", "http://a:9200, http://b:9200")
	t.Setenv("EW_X_USERNAME", "edgewatch")
	t.Setenv("EW_X_PASSWORD", "")
	t.Setenv("EW_X_PASSWORD_FILE", pw)
	t.Setenv("EW_X_INSECURE_SKIP_VERIFY", "true")
	t.Setenv("EW_X_TIMEOUT", "15s")
	t.Setenv("EW_X_COMPRESSION", "1")
	cfg, ok, err := ConfigFromEnv("EW_X")
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if len(cfg.URLs) != 2 || cfg.Username != "edgewatch" || cfg.Password != testPassword || !cfg.InsecureSkipVerify || cfg.Timeout.String() != "15s" || !cfg.Compression {
		t.Fatalf("cfg = %s (password ok: %v)", cfg, cfg.Password == testPassword)
	}
	if _, ok, _ := ConfigFromEnv("EW_UNSET_PREFIX"); ok {
		t.Fatal("unset URL should give ok=false")
	}
	t.Setenv("EW_X_COMPRESSION", "maybe")
	if _, _, err := ConfigFromEnv("EW_X"); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad compression: err = %v", err)
	}
	t.Setenv("EW_X_COMPRESSION", "")
	t.Setenv("EW_X_TIMEOUT", "soon")
	if _, _, err := ConfigFromEnv("EW_X"); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad timeout: err = %v", err)
	}
}

// The transport asks for gzip answers only when Compression is on: Go's
// transport adds Accept-Encoding: gzip by itself otherwise.
func TestHTTPTransportCompression(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Header.Get("Accept-Encoding")))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name        string
		compression bool
		want        string
	}{
		{name: "off by default", want: ""},
		{name: "on", compression: true, want: "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Config{Compression: tc.compression}.HTTPTransport()
			if err != nil {
				t.Fatal(err)
			}
			defer tr.CloseIdleConnections()
			res, err := (&http.Client{Transport: tr}).Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			got, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("Accept-Encoding = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHTTPTransportTLS(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (Config{CAFile: bad}).HTTPTransport(); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad CA file: err = %v", err)
	}
	tr, err := Config{}.HTTPTransport()
	if err != nil {
		t.Fatal(err)
	}
	if tr.TLSClientConfig.InsecureSkipVerify {
		t.Fatal("InsecureSkipVerify must be off by default")
	}
	tr, _ = Config{InsecureSkipVerify: true}.HTTPTransport()
	if !tr.TLSClientConfig.InsecureSkipVerify {
		t.Fatal("InsecureSkipVerify not applied")
	}
}
