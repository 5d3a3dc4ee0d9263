package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// TemplateOptions tunes InstallTemplates.
type TemplateOptions struct {
	DryRun bool
}

// InstallTemplates puts the bundled index templates and creates the state
// index (a detection's write aliases and their templates are
// installAliases'). It is idempotent: each template is compared with the
// installed one (its _meta.version and a digest of the bundled body, stored
// as _meta.content_sha256) and put only when missing or different; the
// index is created only when missing. Every step is reported; the error is
// non-nil when any step failed (the other steps still ran).
func InstallTemplates(ctx context.Context, c *cluster.Client, opts TemplateOptions) ([]wire.Step, error) {
	var steps []wire.Step
	var failed []string
	var first error
	add := func(s wire.Step, err error) {
		steps = append(steps, s)
		if s.Outcome == wire.StepFailed {
			failed = append(failed, s.Step+" "+s.Target)
			if first == nil {
				first = err
				if first == nil {
					first = errors.New(s.Detail)
				}
			}
		}
	}
	for _, t := range dashboards.IndexTemplates() {
		add(installTemplate(ctx, c, t, opts.DryRun))
	}
	add(ensureIndex(ctx, c, wire.StateIndex, opts.DryRun))
	if len(failed) > 0 {
		return steps, fmt.Errorf("install: %d step(s) failed (%v): %w", len(failed), failed, first)
	}
	return steps, nil
}

// templateBody adds _meta.content_sha256 (the digest of the bundled file) so
// a later install can tell an edited template from the installed one.
func templateBody(t dashboards.Template) ([]byte, string, int, error) {
	sum := sha256.Sum256(t.Body)
	digest := hex.EncodeToString(sum[:])
	var m map[string]any
	if err := json.Unmarshal(t.Body, &m); err != nil {
		return nil, "", 0, err
	}
	meta, _ := m["_meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["content_sha256"] = digest
	m["_meta"] = meta
	b, err := json.Marshal(m)
	return b, digest, dashboards.TemplateVersion(t.Body), err
}

func installTemplate(ctx context.Context, c *cluster.Client, t dashboards.Template, dryRun bool) (wire.Step, error) {
	s := wire.Step{Step: "index template", Target: t.Name}
	body, digest, version, err := templateBody(t)
	if err != nil {
		s.Outcome, s.Detail = wire.StepFailed, "bundled template is not cluster.JSON: "+err.Error()
		return s, err
	}
	get := cluster.Request{Method: http.MethodGet, Path: cluster.DocPath("_index_template", t.Name)}
	var cur struct {
		IndexTemplates []struct {
			IndexTemplate struct {
				Meta struct {
					Version int    `json:"version"`
					Digest  string `json:"content_sha256"`
				} `json:"_meta"`
			} `json:"index_template"`
		} `json:"index_templates"`
	}
	err = c.Call(ctx, "get index template "+t.Name, get, &cur)
	exists := err == nil && len(cur.IndexTemplates) > 0
	if err != nil && !errors.Is(err, cluster.ErrNotFound) {
		s.Outcome, s.Detail = wire.StepFailed, reasonOf(err)
		return s, err
	}
	if exists {
		m := cur.IndexTemplates[0].IndexTemplate.Meta
		if m.Version == version && m.Digest == digest {
			s.Outcome, s.Detail = wire.StepAlreadyPresent, fmt.Sprintf("v%d", version)
			return s, nil
		}
		s.Detail = fmt.Sprintf("v%d -> v%d", m.Version, version)
		if m.Version == version {
			s.Detail = fmt.Sprintf("v%d, content changed", version)
		}
	}
	if dryRun {
		s.Outcome = wire.StepWouldApply
		return s, nil
	}
	put := cluster.Request{Method: http.MethodPut, Path: cluster.DocPath("_index_template", t.Name), Body: body}
	if err := c.Call(ctx, "put index template "+t.Name, put, nil); err != nil {
		s.Outcome, s.Detail = wire.StepFailed, reasonOf(err)
		return s, err
	}
	if exists {
		s.Outcome = wire.StepUpdated
	} else {
		s.Outcome, s.Detail = wire.StepOK, fmt.Sprintf("v%d", version)
	}
	return s, nil
}

// ensureIndex creates index (its settings and mappings come from the
// matching template) unless it exists.
func ensureIndex(ctx context.Context, c *cluster.Client, index string, dryRun bool) (wire.Step, error) {
	s := wire.Step{Step: "index", Target: index}
	head := cluster.Request{Method: http.MethodHead, Path: cluster.DocPath(index)}
	resp, err := c.Do(ctx, head)
	if err != nil {
		s.Outcome, s.Detail = wire.StepFailed, reasonOf(err)
		return s, err
	}
	switch resp.Status {
	case 200:
		s.Outcome = wire.StepAlreadyPresent
		return s, nil
	case 404:
	default:
		err := cluster.StatusError("check index "+index, head, resp.Status, resp.Body)
		s.Outcome, s.Detail = wire.StepFailed, reasonOf(err)
		return s, err
	}
	if dryRun {
		s.Outcome = wire.StepWouldApply
		return s, nil
	}
	put := cluster.Request{Method: http.MethodPut, Path: cluster.DocPath(index)}
	if err := c.Call(ctx, "create index "+index, put, nil); err != nil {
		var e *cluster.Error
		if errors.As(err, &e) && e.Type == "resource_already_exists_exception" {
			s.Outcome = wire.StepAlreadyPresent // created concurrently
			return s, nil
		}
		s.Outcome, s.Detail = wire.StepFailed, reasonOf(err)
		return s, err
	}
	s.Outcome = wire.StepOK
	return s, nil
}

// reasonOf is the server's reason for an *Error, else the message.
func reasonOf(err error) string {
	var e *cluster.Error
	if errors.As(err, &e) && (e.Type != "" || e.Reason != "") {
		if e.Type != "" {
			return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Reason)
		}
		return e.Reason
	}
	return err.Error()
}
