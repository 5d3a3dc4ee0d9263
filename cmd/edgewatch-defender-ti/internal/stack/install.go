package stack

import (
	"context"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/dashboards/importer"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// InstallOptions say what Install puts into a stack.
type InstallOptions struct {
	DryRun bool
	// AlertIndex is the detection's alert alias (default
	// wire.AlertAlias(Detection)); it and its findings alias are prepared
	// as write aliases (installAliases).
	AlertIndex string
	// Detection names the detection whose aliases are prepared.
	Detection string
	// RetentionDays is how long alert indices live (0: the default).
	RetentionDays int
	// SavedObjects is the Dashboards / Kibana the bundle goes to; nil skips
	// the step.
	SavedObjects *importer.Target
	// Triggers, when set, installs the schedule trigger.
	Triggers *dashboards.TriggerParams
	// Progress, when set, is told each part as it starts.
	Progress func(part string)
}

// Install prepares a stack, idempotently: index templates and the state
// index, the alert retention policy (ISM / ILM), the detection's alert and
// findings write aliases (with their own templates; a single alert index
// of the alias's name is migrated), the saved objects and the schedule
// trigger. Every step is reported; one that fails does not
// stop the others.
func Install(ctx context.Context, c *cluster.Client, o InstallOptions) []wire.Step {
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	progress("index templates and indices")
	steps, _ := InstallTemplates(ctx, c, TemplateOptions{DryRun: o.DryRun})

	progress("retention policy")
	days := o.RetentionDays
	if days == 0 {
		days = dashboards.DefaultRetentionDays
	}
	ret := installRetention(ctx, c, days, o.DryRun)
	steps = append(steps, ret.steps...)

	progress("write aliases")
	alias := o.AlertIndex
	if alias == "" {
		alias = wire.AlertAlias(o.Detection)
	}
	steps = append(steps, installAliases(ctx, c, alias, ret.lifecycle, o.DryRun)...)
	steps = append(steps, ret.attach(ctx, c, o.DryRun)...)

	progress("saved objects")
	steps = append(steps, importSavedObjects(ctx, o.SavedObjects, o.DryRun))

	if o.Triggers == nil {
		return append(steps, wire.Step{Step: "trigger", Target: "schedule", Outcome: wire.StepSkipped, Detail: "not asked (--triggers --edgewatch-url URL)"})
	}
	progress("triggers")
	return append(steps, installTriggers(ctx, c, *o.Triggers, o.DryRun)...)
}

// UninstallOptions say what Uninstall removes.
type UninstallOptions struct {
	DryRun bool
	// Detection names the detection whose triggers go (default "default").
	Detection string
	// SavedObjects is the Dashboards / Kibana the bundle is removed from;
	// nil skips the step.
	SavedObjects *importer.Target
	// DeleteData also deletes alert indices, indicator feeds and the state
	// index; AlertIndex and IndicatorFeed scope it to those (and keep the
	// shared state index).
	DeleteData                bool
	AlertIndex, IndicatorFeed string
	// Progress, when set, is told each part as it starts.
	Progress func(part string)
}

// Uninstall removes what Install put, nothing else: the triggers, the saved
// objects, the retention policy and the index templates edgewatch manages;
// data only with DeleteData. Every step is reported.
func Uninstall(ctx context.Context, c *cluster.Client, o UninstallOptions) []wire.Step {
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	detection := o.Detection
	if detection == "" {
		detection = "default"
	}
	progress("triggers")
	steps := uninstallTriggers(ctx, c, detection, o.DryRun)
	progress("saved objects")
	steps = append(steps, removeSavedObjects(ctx, o.SavedObjects, o.DryRun))
	progress("retention policy")
	steps = append(steps, uninstallRetention(ctx, c, o.DryRun)...)
	progress("index templates")
	for _, t := range dashboards.IndexTemplates() {
		steps = append(steps, removeTemplate(ctx, c, t.Name, o.DryRun))
	}
	// The templates derived for write aliases (AliasTemplateFor), every
	// detection's: the bundled ones they derive from go too.
	steps = append(steps, removeDerivedTemplates(ctx, c, o.DryRun)...)
	progress("data")
	return append(steps, removeData(ctx, c, o, o.DryRun)...)
}
