package serve

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCredentialPath(t *testing.T) {
	set := testEnv(map[string]string{EnvCredentialsDirectory: "/run/credentials/edgewatch.service"})
	unset := testEnv(nil)
	cases := map[string]struct {
		in      string
		getenv  func(string) string
		want    string
		wantErr error
	}{
		"braced":            {"${CREDENTIALS_DIRECTORY}/pw", set, "/run/credentials/edgewatch.service/pw", nil},
		"bare":              {"$CREDENTIALS_DIRECTORY/pw", set, "/run/credentials/edgewatch.service/pw", nil},
		"plain path":        {"/etc/edgewatch/pw", unset, "/etc/edgewatch/pw", nil},
		"other vars stay":   {"/etc/$HOME/pw", set, "/etc/$HOME/pw", nil},
		"not under systemd": {"${CREDENTIALS_DIRECTORY}/pw", unset, "", errNoCredentialsDirectory},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := credentialPath(c.in, c.getenv)
			if !errors.Is(err, c.wantErr) || got != c.want {
				t.Errorf("credentialPath(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.wantErr)
			}
		})
	}
}

// TestPackagedConfig: the example configuration the packages install as
// /etc/edgewatch/edgewatch.yaml is valid and reads its secrets from the
// systemd credentials directory.
func TestPackagedConfig(t *testing.T) {
	creds := t.TempDir()
	for name, v := range map[string]string{
		"edgewatch-webhook-token":    "webhook-token-0123456789abcdef\n",
		"edgewatch-cluster-password": "cluster-pw\n",
	} {
		if err := os.WriteFile(filepath.Join(creds, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const path = "../../packaging/edgewatch.yaml"
	cfg, err := LoadConfig(path, testEnv(map[string]string{EnvCredentialsDirectory: creds}))
	if err != nil {
		t.Fatal(err)
	}
	d, ok := cfg.Detection("defender-ti")
	if !ok || d.SecretValues()["password"] != "cluster-pw" || string(cfg.webhook.token) != "webhook-token-0123456789abcdef" {
		t.Fatalf("packaged config: %+v", cfg)
	}
	if cfg.Log.Format != "" {
		t.Errorf("log.format %q: the packaged config must leave it to the systemd default (JSON)", cfg.Log.Format)
	}
	// Outside systemd the same file says what is missing.
	_, err = LoadConfig(path, testEnv(nil))
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "CREDENTIALS_DIRECTORY is not set") {
		t.Errorf("without credentials: %v", err)
	}
}
