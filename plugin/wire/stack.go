package wire

// Step outcomes of install and uninstall.
const (
	StepOK             = "ok"              // created now
	StepAlreadyPresent = "already-present" // same version and content already there
	StepUpdated        = "updated"         // replaced an older or different version
	StepWouldApply     = "would-apply"     // dry run: would create or update
	StepRemoved        = "removed"         // uninstall deleted it
	StepWouldRemove    = "would-remove"    // dry run of uninstall
	StepAbsent         = "absent"          // uninstall: it was not there
	StepKept           = "kept"            // uninstall: data kept on purpose
	StepSkipped        = "skipped"         // not done; Detail says why
	StepFailed         = "failed"          // Detail holds the server's reason
)

// StepOutcomes lists every step outcome in the order the host counts them.
var StepOutcomes = []string{StepOK, StepUpdated, StepAlreadyPresent, StepWouldApply, StepRemoved,
	StepWouldRemove, StepAbsent, StepKept, StepSkipped, StepFailed}

// StackArgs are the args OpInstall and OpUninstall share.
type StackArgs struct {
	Settings Settings `json:"settings"`
	DryRun   bool     `json:"dry_run,omitempty"`

	// DashboardsURL (OpenSearch Dashboards) or KibanaURL: where the saved
	// objects go; neither skips that step.
	DashboardsURL string `json:"dashboards_url,omitempty"`
	KibanaURL     string `json:"kibana_url,omitempty"`
	Space         string `json:"space,omitempty"`  // Kibana space
	Tenant        string `json:"tenant,omitempty"` // OSD security tenant
	// DashboardsUsername overrides the cluster user name for Dashboards /
	// Kibana (its password in the secret SecretDashboardsPassword).
	DashboardsUsername string `json:"dashboards_username,omitempty"`

	// Detection names the detection the triggers run (default "default").
	Detection string `json:"detection,omitempty"`
}

// InstallArgs are the args of OpInstall.
type InstallArgs struct {
	StackArgs
	// RetentionDays is how long alert indices live (default 90).
	RetentionDays int `json:"retention_days,omitempty"`
	// Triggers installs the schedule trigger (Watcher on Elasticsearch,
	// Alerting monitor + Notifications channel on OpenSearch) that calls
	// EdgewatchURL with the secret SecretWebhookToken.
	Triggers        bool     `json:"triggers,omitempty"`
	EdgewatchURL    string   `json:"edgewatch_url,omitempty"`
	TriggerInterval Duration `json:"trigger_interval,omitempty"`
}

// UninstallArgs are the args of OpUninstall.
type UninstallArgs struct {
	StackArgs
	// DeleteData also deletes alert indices, indicator feeds and the state
	// index. When the settings name an alert index or an indicator feed,
	// only those go (and the state index stays); otherwise every alert and
	// indicator index and the state index.
	DeleteData bool `json:"delete_data,omitempty"`
}

// Step is one install or uninstall step.
type Step struct {
	Step    string `json:"step"`   // "index template", "retention policy", "saved objects"…
	Target  string `json:"target"` // what it acted on
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
}

// String renders "index template edgewatch-alerts: already-present (v1)".
func (s Step) String() string {
	out := s.Step + " " + s.Target + ": " + s.Outcome
	if s.Detail != "" {
		out += " (" + s.Detail + ")"
	}
	return out
}

// StepsResult is the answer of OpInstall and OpUninstall. The host prints
// the steps and exits non-zero when Failed > 0.
type StepsResult struct {
	Operation string         `json:"operation"`
	Cluster   string         `json:"cluster"` // "opensearch 2.19.6"
	DryRun    bool           `json:"dry_run,omitempty"`
	Steps     []Step         `json:"steps"`
	Outcomes  map[string]int `json:"outcomes"` // steps per outcome
	Failed    int            `json:"failed"`
}

// Add appends s and counts its outcome.
func (r *StepsResult) Add(steps ...Step) {
	for _, s := range steps {
		r.Steps = append(r.Steps, s)
		if r.Outcomes == nil {
			r.Outcomes = map[string]int{}
		}
		r.Outcomes[s.Outcome]++
		if s.Outcome == StepFailed {
			r.Failed++
		}
	}
}
