package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// Config is the YAML config file (--config). Its run keys are the settings
// document's keys (source, device_info, feeds, cluster.urls...); the host
// keys configure edgewatch itself. Flags win over the file. Relative paths
// in the file are relative to the file's directory.
//
//	plugin_dir: [/opt/edgewatch/plugins]
//	log_level: info
//	source: file
//	device_info: [data/DeviceInfo.ndjson]
//	network_events: [data/DeviceNetworkEvents.ndjson.gz]
//	feeds: [ipsum/ipsum.txt]
//	min_level: 3
//	from: -24h
//	exclude_ports: [25]
//	group_by: [host.id, source.ip, destination.port]
//	group_window: 24h
type Config struct {
	// Host.
	LogFormat    string     `yaml:"log_format"`
	LogLevel     string     `yaml:"log_level"`
	PluginDir    StringList `yaml:"plugin_dir"`
	PluginSHA256 StringList `yaml:"plugin_sha256"`
	Plugin       string     `yaml:"plugin"` // name or path; default edgewatch-defender-ti
	Timeout      string     `yaml:"timeout"`
	Format       string     `yaml:"format"`
	Out          string     `yaml:"out"`

	// Run settings.
	Source         string     `yaml:"source"`
	DeviceInfo     StringList `yaml:"device_info"`
	NetworkEvents  StringList `yaml:"network_events"`
	Feeds          StringList `yaml:"feeds"`
	FeedName       string     `yaml:"feed_name"`
	MinLevel       *int       `yaml:"min_level"`
	KeepNonGlobal  bool       `yaml:"keep_non_global"`
	AllowEmptyFeed bool       `yaml:"allow_empty_feed"`
	From           string     `yaml:"from"`
	To             string     `yaml:"to"`
	FacingLookback string     `yaml:"facing_lookback"`
	ExcludePorts   []int      `yaml:"exclude_ports"`
	Allow          StringList `yaml:"allow"`
	GroupBy        StringList `yaml:"group_by"`
	GroupWindow    string     `yaml:"group_window"`
	RuleID         string     `yaml:"rule_id"`
	RuleName       string     `yaml:"rule_name"`
	Cluster        struct {
		URLs               StringList        `yaml:"urls"`
		Username           string            `yaml:"username"`
		PasswordFile       string            `yaml:"password_file"`
		APIKeyFile         string            `yaml:"api_key_file"`
		CAFile             string            `yaml:"ca_file"`
		InsecureSkipVerify bool              `yaml:"insecure_skip_verify"`
		Timeout            string            `yaml:"timeout"`
		DeviceInfoIndex    string            `yaml:"device_info_index"`
		NetworkEventsIndex string            `yaml:"network_events_index"`
		Profile            string            `yaml:"profile"`
		ProfileFields      map[string]string `yaml:"profile_fields"`
		IndicatorFeed      string            `yaml:"indicator_feed"`
		AlertIndex         string            `yaml:"alert_index"`
		NoIndex            bool              `yaml:"no_index"`
	} `yaml:"cluster"`
}

// StringList reads a YAML list of strings or a single string.
type StringList []string

// UnmarshalYAML accepts "x" and ["x", "y"].
func (s *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = StringList{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// LoadConfig reads a config file strictly: unknown keys are errors with
// their line numbers.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.resolve(filepath.Dir(path))
	return &c, nil
}

// resolve makes the file's relative input paths relative to dir.
func (c *Config) resolve(dir string) {
	abs := func(p string) string {
		if p == "" || p == "-" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for _, l := range []StringList{c.DeviceInfo, c.NetworkEvents, c.Feeds, c.PluginDir} {
		for i := range l {
			l[i] = abs(l[i])
		}
	}
	c.Cluster.PasswordFile = abs(c.Cluster.PasswordFile)
	c.Cluster.APIKeyFile = abs(c.Cluster.APIKeyFile)
	c.Cluster.CAFile = abs(c.Cluster.CAFile)
}
