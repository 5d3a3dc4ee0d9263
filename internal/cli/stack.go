package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Environment variables of install's secrets (never passed to plugins).
const (
	EnvWebhookToken       = "EDGEWATCH_WEBHOOK_TOKEN"
	EnvDashboardsPassword = "EDGEWATCH_DASHBOARDS_PASSWORD"
)

// stackFlags are the flags install and uninstall share: the Dashboards /
// Kibana target and the detection the triggers run.
type stackFlags struct {
	adminFlags
	dashboards, kibana       string
	space, tenant            string
	dashboardsUser, dashPass string
	detection                string
	dryRun, asJSON           bool
}

func (f *stackFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.dashboards, "dashboards", "", "OpenSearch Dashboards `URL` (with --opensearch): import the bundled saved objects")
	fs.StringVar(&f.kibana, "kibana", "", "Kibana `URL` (with --elasticsearch): import the bundled saved objects")
	fs.StringVar(&f.space, "space", "", "Kibana space id (with --kibana)")
	fs.StringVar(&f.tenant, "tenant", "", "OpenSearch Dashboards security tenant (with --dashboards)")
	fs.StringVar(&f.dashboardsUser, "dashboards-username", "", "Dashboards/Kibana user when it differs from --username (password from $"+EnvDashboardsPassword+" or --dashboards-password-file)")
	fs.StringVar(&f.dashPass, "dashboards-password-file", "", "file holding the Dashboards/Kibana password")
	fs.StringVar(&f.detection, "detection", "", "detection the schedule trigger runs and whose write aliases install prepares (default \"default\")")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print what would be done and change nothing")
	fs.BoolVar(&f.asJSON, "json", false, "print the steps as JSON")
	f.adminFlags.register(fs)
}

// args builds the arguments install and uninstall share, and their secrets.
func (f *stackFlags) args(a *app, cmd *cobra.Command) (wire.StackArgs, map[string]string, error) {
	switch {
	case f.dashboards != "" && f.kibana != "":
		return wire.StackArgs{}, nil, usageErrorf("give --dashboards (OpenSearch Dashboards) or --kibana, not both")
	case (f.space != "" || f.tenant != "") && f.dashboards == "" && f.kibana == "":
		return wire.StackArgs{}, nil, usageErrorf("--space and --tenant need --kibana or --dashboards")
	case f.space != "" && f.dashboards != "":
		return wire.StackArgs{}, nil, usageErrorf("--space is a Kibana feature; OpenSearch Dashboards uses --tenant")
	case f.tenant != "" && f.kibana != "":
		return wire.StackArgs{}, nil, usageErrorf("--tenant is an OpenSearch Dashboards feature; Kibana uses --space")
	}
	if f.detection != "" {
		if err := wire.ValidateDetectionName(f.detection); err != nil {
			return wire.StackArgs{}, nil, usageErrorf("--detection: %v", err)
		}
	}
	s, secrets, err := a.adminSettings(cmd, &f.adminFlags)
	if err != nil {
		return wire.StackArgs{}, nil, err
	}
	pw, err := a.secret(f.dashPass, EnvDashboardsPassword, "--dashboards-password-file")
	if err != nil {
		return wire.StackArgs{}, nil, err
	}
	if pw != "" {
		secrets[wire.SecretDashboardsPassword] = pw
	}
	return wire.StackArgs{Settings: s, DryRun: f.dryRun, DashboardsURL: f.dashboards, KibanaURL: f.kibana,
		Space: f.space, Tenant: f.tenant, DashboardsUsername: f.dashboardsUser, Detection: f.detection}, secrets, nil
}

func (a *app) installCommand() *cobra.Command {
	var f stackFlags
	var retentionDays int
	var triggers bool
	var edgewatchURL, tokenFile, triggerInterval string
	var printRoles bool
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Prepare a stack: index templates, retention policy, dashboards, triggers",
		Long: `Install everything edgewatch needs into an OpenSearch or Elasticsearch stack, idempotently:
index templates and the state and alert indices, the alert retention policy (ISM on OpenSearch,
ILM on Elasticsearch), the bundled saved objects into OpenSearch Dashboards or Kibana, and
optionally the schedule trigger that calls edgewatch serve. Every step is reported as ok,
already-present, updated, skipped (with the reason) or failed (with the server's reason);
the exit status is 1 when a step failed.`,
		Example: `  edgewatch install --opensearch http://127.0.0.1:9200 --dashboards http://127.0.0.1:5601
  edgewatch install --elasticsearch https://es:9200 --username elastic --password-file pw \
                    --kibana https://kibana:5601 --space soc --retention-days 30 \
                    --triggers --edgewatch-url https://edgewatch:8443 --edgewatch-token-file token
  edgewatch install --opensearch http://127.0.0.1:9200 --dry-run
  edgewatch install --print-roles --source elasticsearch --device-info-index 'm365-*' --alert-index edgewatch-alerts-soc`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printRoles {
				return a.printRoles(cmd, &f)
			}
			stack, secrets, err := f.args(a, cmd)
			if err != nil {
				return err
			}
			args := wire.InstallArgs{StackArgs: stack}
			if cmd.Flags().Changed("retention-days") {
				if retentionDays < 1 {
					return usageErrorf("--retention-days %d: want 1 or more", retentionDays)
				}
				args.RetentionDays = retentionDays
			}
			if !triggers && (edgewatchURL != "" || tokenFile != "" || triggerInterval != "") {
				return usageErrorf("--edgewatch-url, --edgewatch-token-file and --trigger-interval need --triggers")
			}
			if triggers {
				if edgewatchURL == "" {
					return usageErrorf("--triggers needs --edgewatch-url (edgewatch serve's URL as the cluster reaches it)")
				}
				tok, err := a.secret(tokenFile, EnvWebhookToken, "--edgewatch-token-file")
				if err != nil {
					return err
				}
				if tok == "" {
					return usageErrorf("--triggers needs the webhook token: --edgewatch-token-file or $%s", EnvWebhookToken)
				}
				secrets[wire.SecretWebhookToken] = tok
				args.Triggers, args.EdgewatchURL = true, edgewatchURL
				if triggerInterval != "" {
					d, err := wire.ParseDuration(triggerInterval)
					if err != nil || d <= 0 {
						return usageErrorf("--trigger-interval %q: want a duration such as 5m", triggerInterval)
					}
					args.TriggerInterval = wire.Duration(d)
				}
			}
			res, err := callOp(a, cmd, wire.OpInstall, args, secrets, f.sets, nil)
			if err != nil {
				return err
			}
			return renderSteps(cmd.OutOrStdout(), res, f.asJSON)
		},
	}
	fs := cmd.Flags()
	f.register(fs)
	fs.IntVar(&retentionDays, "retention-days", 0, "delete alert indices this many `days` after creation (default 90)")
	fs.BoolVar(&triggers, "triggers", false, "install the schedule trigger (Watcher on Elasticsearch, Alerting on OpenSearch)")
	fs.StringVar(&edgewatchURL, "edgewatch-url", "", "edgewatch serve's base `URL` as the cluster reaches it (with --triggers)")
	fs.StringVar(&tokenFile, "edgewatch-token-file", "", "file holding the webhook bearer token (or $"+EnvWebhookToken+")")
	fs.StringVar(&triggerInterval, "trigger-interval", "", "trigger period, e.g. 5m (default 5m)")
	fs.BoolVar(&printRoles, "print-roles", false, "print the least-privileged detector and installer roles (OpenSearch security, Elasticsearch) "+
		"for --device-info-index/--network-events-index and --alert-index, and change nothing")
	return cmd
}

func (a *app) uninstallCommand() *cobra.Command {
	var f stackFlags
	var deleteData bool
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove what install put into the stack (data kept unless --delete-data)",
		Long: `Remove what edgewatch install put: the schedule trigger, the saved objects (with --dashboards or
--kibana), the retention policy and the index templates. Alert indices, indicator feeds and the
state index are kept unless --delete-data; with --alert-index and/or --indicator-feed only those
are deleted (and the shared state index is kept).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stack, secrets, err := f.args(a, cmd)
			if err != nil {
				return err
			}
			res, err := callOp(a, cmd, wire.OpUninstall, wire.UninstallArgs{StackArgs: stack, DeleteData: deleteData}, secrets, f.sets, nil)
			if err != nil {
				return err
			}
			return renderSteps(cmd.OutOrStdout(), res, f.asJSON)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&deleteData, "delete-data", false, "also delete alert indices, indicator feeds and the state index")
	return cmd
}

// renderSteps prints install/uninstall steps, one line each, and fails
// (exit 1) when a step failed.
func renderSteps(w io.Writer, r wire.StepsResult, asJSON bool) error {
	if asJSON {
		if err := printJSON(w, r); err != nil {
			return err
		}
	} else {
		head := r.Operation + " on " + r.Cluster
		if r.DryRun {
			head += " (dry run: nothing changed)"
		}
		fmt.Fprintln(w, head)
		for _, s := range r.Steps {
			line := fmt.Sprintf("  %-16s %-20s %s", s.Outcome, s.Step, s.Target)
			if s.Detail != "" {
				line += ": " + s.Detail
			}
			fmt.Fprintln(w, line)
		}
		var parts []string
		for _, k := range wire.StepOutcomes {
			if n := r.Outcomes[k]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, k))
			}
		}
		fmt.Fprintf(w, "%d steps: %s\n", len(r.Steps), strings.Join(parts, ", "))
	}
	if r.Failed > 0 {
		return fmt.Errorf("%s: %d step(s) failed", r.Operation, r.Failed)
	}
	return nil
}
