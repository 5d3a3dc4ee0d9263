package stack

import (
	"context"
	"fmt"
	"net/url"

	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/dashboards/importer"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

func bundleKind(t *importer.Target) string {
	if t.Kind == importer.Kibana {
		return dashboards.KindKibana
	}
	return dashboards.KindOpenSearchDashboards
}

func targetName(t *importer.Target) string {
	u, err := url.Parse(t.URL)
	name := string(t.Kind) + " "
	if err == nil {
		name += u.Redacted()
	} else {
		name += "(unparsable URL)"
	}
	if t.Space != "" {
		name += " space " + t.Space
	}
	if t.Tenant != "" {
		name += " tenant " + t.Tenant
	}
	return name
}

// savedObjectsStep starts the saved-objects step of install and uninstall:
// it names the target and loads the bundle for it with its object count. ok
// is false when st is already final (skipped: no target; failed: bad bundle).
func savedObjectsStep(t *importer.Target) (st wire.Step, bundle []byte, objects int, ok bool) {
	st = wire.Step{Step: "saved objects", Target: "dashboards"}
	if t == nil {
		st.Outcome, st.Detail = wire.StepSkipped, "no --dashboards or --kibana URL given"
		return st, nil, 0, false
	}
	st.Target = targetName(t)
	bundle, err := dashboards.SavedObjects(bundleKind(t))
	if err == nil {
		var refs []dashboards.ObjectRef
		refs, err = dashboards.ObjectRefs(bundle)
		objects = len(refs)
	}
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, err.Error()
		return st, nil, 0, false
	}
	return st, bundle, objects, true
}

func importSavedObjects(ctx context.Context, t *importer.Target, dryRun bool) wire.Step {
	st, bundle, objects, ok := savedObjectsStep(t)
	if !ok {
		return st
	}
	if dryRun {
		st.Outcome, st.Detail = wire.StepWouldApply, fmt.Sprintf("import %d objects with overwrite (fixed ids)", objects)
		return st
	}
	res, err := importer.Import(ctx, *t, bundle, true)
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, err.Error()
		return st
	}
	st.Outcome = wire.StepOK
	st.Detail = fmt.Sprintf("%d of %d objects imported with overwrite (fixed ids: a re-import replaces them); dashboard id %s",
		res.SuccessCount, objects, dashboards.DashboardID)
	return st
}
