package admin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/engine"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/stack"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/dashboards/importer"
	"github.com/edgewatch/edgewatch/plugin"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// install checks the arguments before anything changes (retention days,
// the alert index name, the Dashboards / Kibana target, the trigger), then
// runs stack.Install.
func (d Deps) install(ctx context.Context, a wire.InstallArgs, secrets map[string]string, s plugin.Stream) (wire.StepsResult, error) {
	if err := wire.ValidateDetectionName(detectionOf(a.StackArgs)); err != nil {
		return wire.StepsResult{}, fmt.Errorf("%w: --detection: %w", engine.ErrConfig, err)
	}
	days := a.RetentionDays
	if days == 0 {
		days = dashboards.DefaultRetentionDays
	}
	if _, err := dashboards.RetentionPolicy(dashboards.FlavorOpenSearch, days); err != nil {
		return wire.StepsResult{}, fmt.Errorf("%w: --retention-days: %w", engine.ErrConfig, err)
	}
	if ai := a.Settings.AlertIndexOf(); ai != "" {
		if err := stack.CheckAlertIndexName(ai); err != nil {
			return wire.StepsResult{}, fmt.Errorf("%w: --alert-index: %w", engine.ErrConfig, err)
		}
	}
	target, err := dashboardsTarget(&a.StackArgs, secrets)
	if err != nil {
		return wire.StepsResult{}, err
	}
	var triggers *dashboards.TriggerParams
	if a.Triggers {
		tp, err := triggerParams(&a, secrets)
		if err != nil {
			return wire.StepsResult{}, err
		}
		triggers = &tp
	}
	c, err := d.connect(ctx, wire.OpInstall.Name, a.Settings, secrets)
	if err != nil {
		return wire.StepsResult{}, err
	}
	res := wire.StepsResult{Operation: wire.OpInstall.Name, Cluster: c.Info().String(), DryRun: a.DryRun}
	res.Add(stack.Install(ctx, c, stack.InstallOptions{
		DryRun: a.DryRun, AlertIndex: a.Settings.AlertIndexOf(), Detection: detectionOf(a.StackArgs), RetentionDays: days,
		SavedObjects: target, Triggers: triggers, Progress: stageProgress(ctx, s, "install"),
	})...)
	return res, nil
}

// uninstall runs stack.Uninstall, scoped by the settings' alert index and
// indicator feed.
func (d Deps) uninstall(ctx context.Context, a wire.UninstallArgs, secrets map[string]string, s plugin.Stream) (wire.StepsResult, error) {
	target, err := dashboardsTarget(&a.StackArgs, secrets)
	if err != nil {
		return wire.StepsResult{}, err
	}
	c, err := d.connect(ctx, wire.OpUninstall.Name, a.Settings, secrets)
	if err != nil {
		return wire.StepsResult{}, err
	}
	res := wire.StepsResult{Operation: wire.OpUninstall.Name, Cluster: c.Info().String(), DryRun: a.DryRun}
	res.Add(stack.Uninstall(ctx, c, stack.UninstallOptions{
		DryRun: a.DryRun, Detection: a.Detection, SavedObjects: target, DeleteData: a.DeleteData,
		AlertIndex: a.Settings.AlertIndexOf(), IndicatorFeed: a.Settings.IndicatorFeedOf(),
		Progress: stageProgress(ctx, s, "uninstall"),
	})...)
	return res, nil
}

// stageProgress reports the parts of an operation as progress messages of
// stage.
func stageProgress(ctx context.Context, s plugin.Stream, stage string) func(string) {
	progress := progressTo(ctx, s)
	return func(part string) { progress(wire.Progress{Stage: stage, Message: part}) }
}

// detectionOf is the detection the triggers run.
func detectionOf(a wire.StackArgs) string {
	if a.Detection == "" {
		return "default"
	}
	return a.Detection
}

// dashboardsTarget returns the saved-objects target, nil when no URL was
// given. It checks the product matches the cluster.
func dashboardsTarget(a *wire.StackArgs, secrets map[string]string) (*importer.Target, error) {
	if a.DashboardsURL != "" && a.KibanaURL != "" {
		return nil, fmt.Errorf("%w: give --dashboards (OpenSearch Dashboards) or --kibana, not both", engine.ErrConfig)
	}
	if a.DashboardsURL == "" && a.KibanaURL == "" {
		if a.Space != "" || a.Tenant != "" {
			return nil, fmt.Errorf("%w: --space and --tenant need --kibana or --dashboards", engine.ErrConfig)
		}
		return nil, nil
	}
	t := &importer.Target{Space: a.Space, Tenant: a.Tenant}
	switch {
	case a.DashboardsURL != "":
		if a.Settings.Source != string(cluster.OpenSearch) {
			return nil, fmt.Errorf("%w: --dashboards is OpenSearch Dashboards: use it with --opensearch (Kibana goes with --elasticsearch: --kibana)", engine.ErrConfig)
		}
		t.Kind, t.URL = importer.OpenSearchDashboards, a.DashboardsURL
	default:
		if a.Settings.Source != string(cluster.Elasticsearch) {
			return nil, fmt.Errorf("%w: --kibana goes with --elasticsearch (OpenSearch Dashboards: --dashboards)", engine.ErrConfig)
		}
		t.Kind, t.URL = importer.Kibana, a.KibanaURL
	}
	var cl wire.ClusterSettings
	if a.Settings.Cluster != nil {
		cl = *a.Settings.Cluster
	}
	switch {
	case a.DashboardsUsername != "":
		t.Username, t.Password = a.DashboardsUsername, secrets[wire.SecretDashboardsPassword]
	case cl.Username != "":
		t.Username, t.Password = cl.Username, secrets[wire.SecretPassword]
	case t.Kind == importer.Kibana:
		t.APIKey = secrets[wire.SecretAPIKey]
	}
	hc, err := httpClient(cl)
	if err != nil {
		return nil, err
	}
	t.Client = hc
	return t, nil
}

// httpClient is the client for Dashboards / Kibana: the cluster's CA file
// and skip-verify setting, a two-minute timeout.
func httpClient(cl wire.ClusterSettings) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cl.CAFile != "" || cl.InsecureSkipVerify {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cl.InsecureSkipVerify} //nolint:gosec // opt-in, testing only
		if cl.CAFile != "" {
			pem, err := os.ReadFile(cl.CAFile)
			if err != nil {
				return nil, fmt.Errorf("%w: CA file: %w", engine.ErrConfig, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", engine.ErrConfig, cl.CAFile)
			}
			cfg.RootCAs = pool
		}
		tr.TLSClientConfig = cfg
	}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}, nil
}

func triggerParams(a *wire.InstallArgs, secrets map[string]string) (dashboards.TriggerParams, error) {
	p := dashboards.TriggerParams{URL: a.EdgewatchURL, Token: secrets[wire.SecretWebhookToken],
		Detection: detectionOf(a.StackArgs), Interval: time.Duration(a.TriggerInterval)}
	if a.EdgewatchURL == "" {
		return p, fmt.Errorf("%w: --triggers needs --edgewatch-url (edgewatch serve's URL as the cluster reaches it)", engine.ErrConfig)
	}
	if p.Token == "" {
		return p, fmt.Errorf("%w: --triggers needs the webhook token (--edgewatch-token-file or $EDGEWATCH_WEBHOOK_TOKEN)", engine.ErrConfig)
	}
	// Render once to validate before anything changes.
	if _, err := dashboards.WatcherDefinition(p); err != nil {
		return p, fmt.Errorf("%w: %w", engine.ErrConfig, err)
	}
	return p, nil
}
