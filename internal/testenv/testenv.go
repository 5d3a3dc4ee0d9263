package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Need is a set of things a test needs besides Go.
type Need uint

// The needs. Clusters is both clusters.
const (
	OpenSearch Need = 1 << iota
	Elasticsearch
	Data
	Chromium
	// Packaging is the packaging tools: dpkg-deb, rpm, systemd-analyze.
	Packaging
	// PackageInstall is leave to install and purge the .deb on this
	// machine, as root. It is never available unless required.
	PackageInstall
	// OpenSearchSecure and ElasticsearchSecure are the secured test
	// servers (TLS, users, roles; `scripts/cluster.sh start <flavor>
	// --secure`), reached through EDGEWATCH_<FLAVOR>_SECURE_*.
	OpenSearchSecure
	ElasticsearchSecure
	// ThreeNodes is the three-node OpenSearch cluster of the fault tests
	// (scripts/cluster.sh start opensearch --nodes 3), which they stop and
	// start node by node.
	ThreeNodes

	Clusters = OpenSearch | Elasticsearch
	Secure   = OpenSearchSecure | ElasticsearchSecure
)

// needs lists every single need, in the order Require checks them.
var needs = []Need{OpenSearch, Elasticsearch, OpenSearchSecure, ElasticsearchSecure, Data, Chromium, Packaging, PackageInstall, ThreeNodes}

// packagingTools are the commands the Packaging need stands for.
var packagingTools = []string{"dpkg-deb", "rpm", "systemd-analyze"}

// Environment variables read by the package.
const (
	EnvCI              = "CI"
	EnvRequireClusters = "EDGEWATCH_REQUIRE_CLUSTERS"
	EnvRequireData     = "EDGEWATCH_REQUIRE_DATA"
	EnvRequireChromium = "EDGEWATCH_REQUIRE_CHROMIUM"
	EnvRequirePackage  = "EDGEWATCH_REQUIRE_PACKAGE"
	EnvRequireInstall  = "EDGEWATCH_REQUIRE_PACKAGE_INSTALL"
	EnvRequireSecure   = "EDGEWATCH_REQUIRE_SECURE"
	EnvOpenSearchURL   = "EDGEWATCH_OPENSEARCH_URL"
	EnvElasticURL      = "EDGEWATCH_ELASTICSEARCH_URL"
	// The secured servers' URLs; the rest of their settings
	// (_CA_FILE, _USERNAME…) share the prefix (see SecurePrefix).
	EnvOpenSearchSecureURL = "EDGEWATCH_OPENSEARCH_SECURE_URL"
	EnvElasticSecureURL    = "EDGEWATCH_ELASTICSEARCH_SECURE_URL"
	EnvIPsumDir            = "EDGEWATCH_IPSUM_DIR"
	EnvChromium            = "EDGEWATCH_CHROMIUM"
	EnvRequire3Node        = "EDGEWATCH_REQUIRE_3NODE"
	// Env3NodeURLs lists the three nodes' URLs, comma-separated (what
	// `scripts/cluster.sh env opensearch --nodes 3` prints).
	Env3NodeURLs = "EDGEWATCH_OPENSEARCH_3NODE_URLS"
)

// String names the single need n ("opensearch", "data"…).
func (n Need) String() string {
	switch n {
	case OpenSearch:
		return "opensearch"
	case Elasticsearch:
		return "elasticsearch"
	case Data:
		return "data"
	case Chromium:
		return "chromium"
	case Packaging:
		return "packaging tools"
	case PackageInstall:
		return "package install"
	case OpenSearchSecure:
		return "secured opensearch"
	case ElasticsearchSecure:
		return "secured elasticsearch"
	case ThreeNodes:
		return "three-node opensearch"
	case Clusters:
		return "clusters"
	case Secure:
		return "secured clusters"
	}
	return fmt.Sprintf("Need(%d)", uint(n))
}

// ClusterNeed is the need for the cluster named flavor: "opensearch" or
// "elasticsearch" in any case, or an environment prefix ending in one of
// them ("EDGEWATCH_ELASTICSEARCH"). A prefix ending in "_SECURE"
// ("EDGEWATCH_OPENSEARCH_SECURE") names the secured server. Any other name
// needs both clusters.
func ClusterNeed(flavor string) Need {
	f := strings.ToLower(flavor)
	if base, ok := strings.CutSuffix(f, "_secure"); ok {
		switch n := ClusterNeed(base); n {
		case OpenSearch:
			return OpenSearchSecure
		case Elasticsearch:
			return ElasticsearchSecure
		}
		return Secure
	}
	switch {
	case strings.HasSuffix(f, "elasticsearch"):
		return Elasticsearch
	case strings.HasSuffix(f, "opensearch"):
		return OpenSearch
	}
	return Clusters
}

// requireEnv is the variable that makes the single need n required.
func (n Need) requireEnv() string {
	switch n {
	case Data:
		return EnvRequireData
	case Chromium:
		return EnvRequireChromium
	case Packaging:
		return EnvRequirePackage
	case PackageInstall:
		return EnvRequireInstall
	case OpenSearchSecure, ElasticsearchSecure:
		return EnvRequireSecure
	case ThreeNodes:
		return EnvRequire3Node
	}
	return EnvRequireClusters
}

// SecurePrefix is the environment prefix of the secured server of flavor
// ("opensearch" or "elasticsearch"): EDGEWATCH_<FLAVOR>_SECURE, whose
// _URL, _CA_FILE, _USERNAME, _PASSWORD_FILE, _ADMIN_*, _INSTALLER_* and
// (Elasticsearch) _API_KEY_FILE `scripts/cluster.sh env <flavor> --secure`
// prints.
func SecurePrefix(flavor string) string {
	return "EDGEWATCH_" + strings.ToUpper(flavor) + "_SECURE"
}

// howTo says how to provide the single need n.
func (n Need) howTo() string {
	switch n {
	case OpenSearch:
		return "start it with `scripts/cluster.sh start opensearch` (or `make clusters-up`) and set " + EnvOpenSearchURL
	case Elasticsearch:
		return "start it with `scripts/cluster.sh start elasticsearch` (or `make clusters-up`) and set " + EnvElasticURL +
			" (with EDGEWATCH_ELASTICSEARCH_USERNAME and _PASSWORD_FILE)"
	case Data:
		return "the IPsum snapshot is part of the repository under testdata/ipsum (`git checkout -- testdata/ipsum`), or set " +
			EnvIPsumDir + " to a copy"
	case Chromium:
		return "install it (`apt-get install -y chromium`, see scripts/deps.sh) or set " + EnvChromium + " to the browser"
	case OpenSearchSecure, ElasticsearchSecure:
		flavor := "opensearch"
		if n == ElasticsearchSecure {
			flavor = "elasticsearch"
		}
		return "start it with `scripts/cluster.sh start " + flavor + " --secure` (or `make clusters-secure-up`) and " +
			"export what `scripts/cluster.sh env " + flavor + " --secure` prints (" + SecurePrefix(flavor) + "_URL, _CA_FILE, …)"
	case Packaging:
		return "install dpkg-dev, rpm and systemd (scripts/deps.sh does)"
	case PackageInstall:
		return "run as root with " + EnvRequireInstall + "=1 on a machine without edgewatch installed (it installs and purges the .deb)"
	case ThreeNodes:
		return "start it with `scripts/cluster.sh start opensearch --nodes 3` (or `make clusters-3node-up`) and set " + Env3NodeURLs +
			" (`eval \"$(scripts/cluster.sh env opensearch --nodes 3)\"`); `make test-faults` does both"
	}
	return ""
}

// Required reports whether any need in n must be available: CI=true, or the
// need's EDGEWATCH_REQUIRE_<X>=1.
func Required(n Need) bool {
	if os.Getenv(EnvCI) == "true" {
		return n != 0
	}
	for _, one := range needs {
		if n&one != 0 && os.Getenv(one.requireEnv()) == "1" {
			return true
		}
	}
	return false
}

// clusterURLEnv is the variable naming each cluster need's URL.
var clusterURLEnv = map[Need]string{
	OpenSearch: EnvOpenSearchURL, Elasticsearch: EnvElasticURL,
	OpenSearchSecure: EnvOpenSearchSecureURL, ElasticsearchSecure: EnvElasticSecureURL,
}

// Available reports why the single need n is not available (nil when it
// is), from the environment.
func Available(n Need) error {
	switch n {
	case OpenSearch, Elasticsearch, OpenSearchSecure, ElasticsearchSecure:
		env := clusterURLEnv[n]
		if os.Getenv(env) == "" {
			return fmt.Errorf("%s is not set", env)
		}
		return nil
	case ThreeNodes:
		if os.Getenv(Env3NodeURLs) == "" {
			return fmt.Errorf("%s is not set", Env3NodeURLs)
		}
		return nil
	case Data:
		_, err := ipsumDir()
		return err
	case Chromium:
		_, err := chromiumPath()
		return err
	case Packaging:
		for _, tool := range packagingTools {
			if _, err := exec.LookPath(tool); err != nil {
				return err
			}
		}
		return nil
	case PackageInstall:
		// It changes the machine: only ever on request.
		if !Required(PackageInstall) {
			return fmt.Errorf("installing a package on this machine was not asked for")
		}
		if os.Geteuid() != 0 {
			return fmt.Errorf("installing a package needs root")
		}
		return nil
	}
	return fmt.Errorf("unknown need %v", n)
}

// Require runs the rest of t only when every need in n is available. A
// missing need skips t, or fails it when the need is required (see
// Required). -short has no say here.
func Require(t testing.TB, n Need) {
	t.Helper()
	for _, one := range needs {
		if n&one == 0 {
			continue
		}
		if err := Available(one); err != nil {
			Unavailable(t, one, err.Error())
		}
	}
}

// Unavailable is Require for a caller that found out itself that need n is
// not there (a cluster without credentials, say): it skips t, or fails it
// when n is required, with reason and how to provide n.
func Unavailable(t testing.TB, n Need, reason string) {
	t.Helper()
	if Required(n) {
		t.Fatalf("%s: %v is required (%s=true or %s=1): %s", reason, n, EnvCI, n.requireEnv(), n.howTo())
	}
	t.Skipf("%s: skipping (%s; %s=1 makes this a failure)", reason, n.howTo(), n.requireEnv())
}

// SkipShort skips t under -short, unless a need in n is required: a test
// that needs required clusters runs (and may fail) even with -short.
func SkipShort(t testing.TB, n Need) {
	t.Helper()
	if testing.Short() && !Required(n) {
		t.Skipf("-short, and %v not required", n)
	}
}

// IPsumDir returns the absolute path of the IPsum snapshot (ipsum.txt,
// levels/N.txt, the older levels-4-*.txt): $EDGEWATCH_IPSUM_DIR, else the
// repository's testdata/ipsum. It calls Require(t, Data) first.
func IPsumDir(t testing.TB) string {
	t.Helper()
	return requiredPath(t, Data, ipsumDir)
}

// ChromiumPath returns the headless browser: $EDGEWATCH_CHROMIUM, else
// chromium on $PATH. It calls Require(t, Chromium) first.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	return requiredPath(t, Chromium, chromiumPath)
}

// requiredPath calls Require(t, n), then find; find's error ends the test.
func requiredPath(t testing.TB, n Need, find func() (string, error)) string {
	t.Helper()
	Require(t, n)
	p, err := find()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// RepoRoot returns the directory holding go.mod above the working
// directory (a test's package directory), or an error outside a module.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

func ipsumDir() (string, error) {
	dir := os.Getenv(EnvIPsumDir)
	from := EnvIPsumDir
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", fmt.Errorf("IPsum snapshot: %w", err)
		}
		dir, from = filepath.Join(root, "testdata", "ipsum"), "the repository"
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for _, f := range []string{"ipsum.txt", filepath.Join("levels", "1.txt")} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return "", fmt.Errorf("IPsum snapshot (from %s) has no %s: %w", from, f, err)
		}
	}
	return dir, nil
}

func chromiumPath() (string, error) {
	if bin := os.Getenv(EnvChromium); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("%s: %w", EnvChromium, err)
		}
		return bin, nil
	}
	return exec.LookPath("chromium")
}
