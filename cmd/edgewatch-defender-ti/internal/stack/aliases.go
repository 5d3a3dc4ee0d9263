package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/edgewatch/edgewatch/connectors/alertstore"
	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

const stepAlias = "write alias"

// aliasTarget is one write alias install prepares and the bundled template
// its backing indices are mapped from.
type aliasTarget struct {
	alias, base string
}

// aliasTargets are a detection's write aliases: its alerts and its findings
// (the evidence of a grouping detection).
func aliasTargets(alertAlias string) []aliasTarget {
	return []aliasTarget{
		{alertAlias, dashboards.AlertsTemplate},
		{wire.FindingsAlias(alertAlias), dashboards.FindingsTemplate},
	}
}

// installAliases prepares a detection's write aliases (its alert alias and
// its findings alias): for each, the alias's own index template when it
// needs one (AliasTemplateFor: an alias the bundled template does not map,
// or the rollover settings when lifecycle says the retention policy is in
// place), then the alias itself — created on <alias>-000001, left as it
// is, or migrated from a single index of that name — and, for the alert
// alias, install's alert-mapping check (cluster.CheckAlertIndex, the rule
// the run-side warning applies too). Every step is reported.
func installAliases(ctx context.Context, c *cluster.Client, alertAlias string, lifecycle, dryRun bool) []wire.Step {
	var steps []wire.Step
	for _, t := range aliasTargets(alertAlias) {
		var settings map[string]any
		if lifecycle {
			settings = dashboards.RolloverIndexSettings(flavorOf(c), t.alias)
		}
		tpl, needed, err := AliasTemplateFor(t.base, t.alias, settings)
		if err != nil {
			steps = append(steps, wire.Step{Step: "index template", Target: alertIndexTemplatePrefix + t.alias, Outcome: wire.StepFailed, Detail: err.Error()})
			continue
		}
		if needed {
			st, err := installTemplate(ctx, c, tpl, dryRun)
			steps = append(steps, st)
			if err != nil {
				steps = append(steps, wire.Step{Step: stepAlias, Target: t.alias, Outcome: wire.StepSkipped, Detail: "its index template could not be installed"})
				continue
			}
		}
		st, existed := ensureAlias(ctx, c, t, tpl, settings, dryRun)
		steps = append(steps, st)
		if t.base != dashboards.AlertsTemplate || (st.Outcome == wire.StepFailed && !existed) {
			continue
		}
		// The mapping of what is there now: created (or, in a dry run,
		// to be created) from the template, or found.
		created := st.Outcome
		if existed {
			created = wire.StepAlreadyPresent
		}
		ms, _ := checkAlertMapping(ctx, c, t.alias, created)
		steps = append(steps, ms)
	}
	return steps
}

func flavorOf(c *cluster.Client) string {
	if c.Flavor() == cluster.Elasticsearch {
		return dashboards.FlavorElasticsearch
	}
	return dashboards.FlavorOpenSearch
}

// ensureAlias makes t.alias a write alias: created when missing, migrated
// when it is a single index, and otherwise brought up to date (the
// template's mapping, the rollover settings on every backing index).
// existed says the name was there before (an alias or an index).
func ensureAlias(ctx context.Context, c *cluster.Client, t aliasTarget, tpl dashboards.Template, settings map[string]any, dryRun bool) (wire.Step, bool) {
	alias := t.alias
	st := wire.Step{Step: stepAlias, Target: alias}
	a, err := alertstore.Resolve(ctx, c, alias)
	switch {
	case errors.Is(err, alertstore.ErrMissing):
		first := alertstore.FirstBackingIndex(alias)
		if dryRun {
			st.Outcome, st.Detail = wire.StepWouldApply, "create "+first+" as its write index"
			return st, false
		}
		a, err := alertstore.Bootstrap(ctx, c, alias, nil)
		if err == nil {
			// The alias template gave the index its settings; a template
			// that a concurrent install has not updated yet may not have.
			_, err = applySettings(ctx, c, a.Indices, settings)
		}
		if err != nil {
			st.Outcome, st.Detail = wire.StepFailed, reasonOf(err)
			return st, false
		}
		st.Outcome, st.Detail = wire.StepOK, "write index "+first
		return st, false
	case err != nil:
		st.Outcome, st.Detail = wire.StepFailed, reasonOf(err)
		return st, false
	case a.Concrete:
		return migrateIndex(ctx, c, t, tpl, settings, dryRun), true
	}
	st.Outcome, st.Detail = wire.StepAlreadyPresent, fmt.Sprintf("%d backing indices, write index %s", len(a.Indices), a.Write)
	if dryRun {
		return st, true
	}
	if err := putMapping(ctx, c, alias, tpl); err != nil {
		st.Outcome, st.Detail = wire.StepFailed, "update the mapping: "+reasonOf(err)
		return st, true
	}
	n, err := applySettings(ctx, c, a.Indices, settings)
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, "rollover settings: "+reasonOf(err)
		return st, true
	}
	if n > 0 {
		st.Outcome = wire.StepUpdated
		st.Detail += fmt.Sprintf("; rollover settings put on %d", n)
	}
	return st, true
}

// putMapping adds the template's fields to the mapping of every backing
// index of alias (an index created by an older template lacks the newer
// fields; adding fields is all a mapping update may do).
func putMapping(ctx context.Context, c *cluster.Client, alias string, tpl dashboards.Template) error {
	var t struct {
		Template struct {
			Mappings json.RawMessage `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(tpl.Body, &t); err != nil {
		return err
	}
	req := cluster.Request{Method: http.MethodPut, Path: cluster.DocPath(alias, "_mapping"), Body: t.Template.Mappings}
	return c.Call(ctx, "update the mapping of "+alias, req, nil)
}

// applySettings puts settings on the indices that lack them and returns
// how many it changed.
func applySettings(ctx context.Context, c *cluster.Client, indices []string, settings map[string]any) (int, error) {
	if len(settings) == 0 || len(indices) == 0 {
		return 0, nil
	}
	keys := slices.Sorted(maps.Keys(settings))
	names := strings.Join(indices, ",")
	req := cluster.Request{Method: http.MethodGet, Path: cluster.DocPath(names, "_settings", strings.Join(keys, ",")),
		Query: url.Values{"flat_settings": {"true"}}}
	var got map[string]struct {
		Settings map[string]any `json:"settings"`
	}
	if err := c.Call(ctx, "read the settings of "+names, req, &got); err != nil {
		return 0, err
	}
	var todo []string
	for _, ix := range indices {
		have := got[ix].Settings
		for _, k := range keys {
			full := k
			if !strings.HasPrefix(full, "index.") {
				full = "index." + k
			}
			if fmt.Sprint(have[full]) != fmt.Sprint(settings[k]) {
				todo = append(todo, ix)
				break
			}
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}
	put := cluster.Request{Method: http.MethodPut, Path: cluster.DocPath(strings.Join(todo, ","), "_settings"), Body: cluster.JSON(settings)}
	if err := c.Call(ctx, "put rollover settings", put, nil); err != nil {
		return 0, err
	}
	return len(todo), nil
}

// migrateIndex turns the single index named alias (alerts written before
// rollover) into the first backing index of a write alias of that name,
// without losing an alert: it blocks writes to the index, clones it into
// <alias>-000001 (a copy of its segments: cheap, exact), checks that the
// clone holds as many documents, and then, in one atomic _aliases call,
// deletes the old index and points the alias at the clone as its write
// index. A failure before that call lifts the write block again and leaves
// the old index as it was. A run writing during the migration is refused by
// the block (and fails, leaving its checkpoint where it was); the next one
// writes through the alias. The clone is created now, so ISM/ILM count its
// age from the migration, not from when the old index was created.
func migrateIndex(ctx context.Context, c *cluster.Client, t aliasTarget, tpl dashboards.Template, settings map[string]any, dryRun bool) wire.Step {
	alias := t.alias
	st := wire.Step{Step: stepAlias, Target: alias}
	first := alertstore.FirstBackingIndex(alias)
	if t.base == dashboards.AlertsTemplate {
		// A clone keeps the index's mapping, and a mapping update can add
		// fields but not change one's type: an index whose fields were
		// mapped dynamically stays so (the alert mapping step says what to
		// do). Fields an older mapping lacks are added after the swap.
		m, err := cluster.CheckAlertIndex(ctx, c, alias)
		switch {
		case err != nil:
			st.Outcome, st.Detail = wire.StepFailed, "cannot read the mapping of the single index: "+reasonOf(err)
			return st
		case m.Conflicts > 0:
			st.Outcome, st.Detail = wire.StepFailed, "the single index "+alias+" has fields mapped otherwise than alerts are: not migrated (its clone would keep that mapping)"
			return st
		}
	}
	count, err := docCount(ctx, c, alias)
	if err != nil {
		st.Outcome, st.Detail = wire.StepFailed, reasonOf(err)
		return st
	}
	if dryRun {
		st.Outcome, st.Detail = wire.StepWouldApply, fmt.Sprintf("migrate the single index %s (%d documents) into %s, the write index of the alias", alias, count, first)
		return st
	}
	fail := func(what string, err error) wire.Step {
		unblock := cluster.Request{Method: http.MethodPut, Path: cluster.DocPath(alias, "_settings"),
			Body: cluster.JSON(map[string]any{"index.blocks.write": nil})}
		_ = c.Call(ctx, "lift the write block of "+alias, unblock, nil)
		st.Outcome, st.Detail = wire.StepFailed, "migrate "+alias+": "+what+": "+reasonOf(err)
		return st
	}
	block := cluster.Request{Method: http.MethodPut, Path: cluster.DocPath(alias, "_settings"),
		Body: cluster.JSON(map[string]any{"index.blocks.write": true})}
	if err := c.Call(ctx, "block writes to "+alias, block, nil); err != nil {
		return fail("block writes", err)
	}
	// Counted again under the block: nothing can add to it any more.
	if count, err = docCount(ctx, c, alias); err != nil {
		return fail("count", err)
	}
	cloneSettings := map[string]any{"index.blocks.write": nil}
	for k, v := range settings {
		cloneSettings[k] = v
	}
	clone := cluster.Request{Method: http.MethodPost, Path: cluster.DocPath(alias, "_clone", first),
		Query: url.Values{"wait_for_active_shards": {"1"}}, Body: cluster.JSON(map[string]any{"settings": cloneSettings})}
	err = c.Call(ctx, "clone "+alias+" into "+first, clone, nil)
	var e *cluster.Error
	if err != nil && !(errors.As(err, &e) && e.Type == "resource_already_exists_exception") {
		return fail("clone", err)
	}
	// A clone left by an interrupted migration is used only when complete.
	if err := waitActive(ctx, c, first); err != nil {
		return fail("wait for the clone", err)
	}
	got, err := docCount(ctx, c, first)
	if err != nil {
		return fail("count the clone", err)
	}
	if got != count {
		return fail("check the clone", fmt.Errorf("%s holds %d documents, %s %d: delete %s and install again", first, got, alias, count, first))
	}
	swap := cluster.Request{Method: http.MethodPost, Path: "/_aliases", Body: cluster.JSON(map[string]any{"actions": []any{
		map[string]any{"remove_index": map[string]any{"index": alias}},
		map[string]any{"add": map[string]any{"index": first, "alias": alias, "is_write_index": true}},
	}})}
	if err := c.Call(ctx, "swap "+alias+" for the alias", swap, nil); err != nil {
		return fail("swap the index for the alias", err)
	}
	if err := putMapping(ctx, c, alias, tpl); err != nil {
		st.Outcome, st.Detail = wire.StepFailed, fmt.Sprintf("migrated %d documents into %s, but the mapping update failed: %s", count, first, reasonOf(err))
		return st
	}
	st.Outcome, st.Detail = wire.StepUpdated, fmt.Sprintf("migrated the single index (%d documents) into %s, the write index of the alias", count, first)
	return st
}

// docCount refreshes index and counts its documents.
func docCount(ctx context.Context, c *cluster.Client, index string) (int64, error) {
	if err := c.Refresh(ctx, index); err != nil {
		return 0, err
	}
	var r struct {
		Count int64 `json:"count"`
	}
	err := c.Call(ctx, "count "+index, cluster.Request{Method: http.MethodGet, Path: cluster.DocPath(index, "_count")}, &r)
	return r.Count, err
}

// waitActive waits (up to 60s) until index's primaries are active.
func waitActive(ctx context.Context, c *cluster.Client, index string) error {
	req := cluster.Request{Method: http.MethodGet, Path: cluster.DocPath("_cluster", "health", index),
		Query: url.Values{"wait_for_status": {"yellow"}, "timeout": {"60s"}}}
	var r struct {
		TimedOut bool `json:"timed_out"`
	}
	if err := c.Call(ctx, "wait for "+index, req, &r); err != nil {
		return err
	}
	if r.TimedOut {
		return fmt.Errorf("%s did not become active within 60s", index)
	}
	return nil
}
