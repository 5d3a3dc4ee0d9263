package clustertest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/connectors/elasticsearch"
	"github.com/edgewatch/edgewatch/connectors/opensearch"
	"github.com/edgewatch/edgewatch/internal/testenv"
)

// Identity is who a test connects to a secured test server as. The users
// and their roles (dashboards/security/*.json) are the ones
// `scripts/cluster.sh start <flavor> --secure` creates.
type Identity string

// The identities of the secured test servers.
const (
	// Detector is the least-privileged detector user, with its password:
	// what `edgewatch run`, `serve` and `feed load` run as.
	Detector Identity = "detector"
	// DetectorAPIKey is an Elasticsearch API key limited to the detector
	// role (Elasticsearch only).
	DetectorAPIKey Identity = "detector-api-key"
	// Installer may install and uninstall (templates, indices, retention).
	Installer Identity = "installer"
	// Admin is a superuser: it loads test data and cleans up.
	Admin Identity = "admin"
)

// DetectorIdentities are the detector identities a test runs as on flavor:
// the detector user, and on Elasticsearch its API key first.
func DetectorIdentities(flavor cluster.Flavor) []Identity {
	if flavor == cluster.Elasticsearch {
		return []Identity{DetectorAPIKey, Detector}
	}
	return []Identity{Detector}
}

// SecureConfig builds the settings for the secured server of flavor as id,
// from EDGEWATCH_<FLAVOR>_SECURE_* (testenv.SecurePrefix): _URL, _CA_FILE
// and the identity's _USERNAME + _PASSWORD_FILE (_ADMIN_…, _INSTALLER_…
// for those) or _API_KEY_FILE. ok is false when the URL is unset.
func SecureConfig(flavor cluster.Flavor, id Identity) (cfg cluster.Config, ok bool, err error) {
	prefix := testenv.SecurePrefix(string(flavor))
	url := os.Getenv(prefix + "_URL")
	if url == "" {
		return cfg, false, nil
	}
	cfg = cluster.Config{URLs: []string{url}, CAFile: os.Getenv(prefix + "_CA_FILE")}
	if cfg.CAFile == "" {
		return cfg, true, fmt.Errorf("%s_CA_FILE is not set (the secured servers use a test CA)", prefix)
	}
	var user string
	switch id {
	case Detector:
	case Installer:
		user = "_INSTALLER"
	case Admin:
		user = "_ADMIN"
	case DetectorAPIKey:
		if flavor != cluster.Elasticsearch {
			return cfg, true, fmt.Errorf("%s has no API keys", flavor)
		}
		cfg.APIKey, err = secretFile(prefix + "_API_KEY_FILE")
		return cfg, true, err
	default:
		return cfg, true, fmt.Errorf("unknown identity %q", id)
	}
	if cfg.Username = os.Getenv(prefix + user + "_USERNAME"); cfg.Username == "" {
		return cfg, true, fmt.Errorf("%s%s_USERNAME is not set", prefix, user)
	}
	cfg.Password, err = secretFile(prefix + user + "_PASSWORD_FILE")
	return cfg, true, err
}

func secretFile(env string) (string, error) {
	path := os.Getenv(env)
	if path == "" {
		return "", fmt.Errorf("%s is not set", env)
	}
	s, err := cluster.SecretFromFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", env, err)
	}
	return s, nil
}

// ConnectSecure returns a client of the secured server of flavor,
// connected as id. An unset URL skips t, or fails it when the secured
// servers are required (testenv.Require with testenv.OpenSearchSecure or
// testenv.ElasticsearchSecure).
func ConnectSecure(t testing.TB, flavor cluster.Flavor, id Identity) Target {
	t.Helper()
	prefix := testenv.SecurePrefix(string(flavor))
	testenv.Require(t, testenv.ClusterNeed(prefix))
	cfg, ok, err := SecureConfig(flavor, id)
	if err != nil {
		t.Fatalf("%s settings for %s: %v", prefix, id, err)
	}
	if !ok {
		t.Fatalf("%s_URL is not set", prefix)
	}
	c, err := Dial(flavor, cfg)
	if err != nil {
		t.Fatalf("connect to the secured %s as %s: %v", flavor, id, err)
	}
	return Target{Name: string(flavor), Flavor: flavor, Env: prefix, Config: cfg, Client: c, Identity: id}
}

// Dial connects to flavor with cfg (a 30 s bound on the version check).
func Dial(flavor cluster.Flavor, cfg cluster.Config) (*cluster.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch flavor {
	case cluster.OpenSearch:
		return opensearch.Connect(ctx, cfg)
	case cluster.Elasticsearch:
		return elasticsearch.Connect(ctx, cfg)
	}
	return nil, fmt.Errorf("unknown flavor %q", flavor)
}

// As returns tg's server connected as another identity (tg must be a
// secured target).
func (tg Target) As(t testing.TB, id Identity) Target {
	t.Helper()
	if tg.Identity == "" {
		t.Fatalf("%s is not a secured target", tg.Name)
	}
	if tg.Identity == id {
		return tg
	}
	return ConnectSecure(t, tg.Flavor, id)
}

// RunSecure runs fn as a subtest against each secured server, once per
// detector identity (DetectorIdentities): "opensearch/detector",
// "elasticsearch/detector-api-key", "elasticsearch/detector".
func RunSecure(t *testing.T, fn func(t *testing.T, tg Target)) {
	t.Helper()
	for _, f := range Flavors {
		for _, id := range DetectorIdentities(f.Flavor) {
			t.Run(string(f.Flavor)+"/"+string(id), func(t *testing.T) {
				fn(t, ConnectSecure(t, f.Flavor, id))
			})
		}
	}
}

// cleaner is the client that deletes tg's test indices: the admin on a
// secured server (the detector may not delete most of them), else tg's own.
func (tg Target) cleaner(t testing.TB) *cluster.Client {
	if tg.Identity == "" || tg.Identity == Admin {
		return tg.Client
	}
	cfg, _, err := SecureConfig(tg.Flavor, Admin)
	if err != nil {
		t.Logf("cleanup as admin: %v", err)
		return tg.Client
	}
	c, err := Dial(tg.Flavor, cfg)
	if err != nil {
		t.Logf("cleanup as admin: %v", err)
		return tg.Client
	}
	return c
}
