package stack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/edgewatch/edgewatch/connectors/cluster"
	"github.com/edgewatch/edgewatch/dashboards"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// call sends one request; only a transport failure is an error.
func call(ctx context.Context, c *cluster.Client, method, path string, q url.Values, body any) (cluster.Request, *cluster.Response, error) {
	req := cluster.Request{Method: method, Path: path, Query: q}
	switch b := body.(type) {
	case nil:
	case []byte:
		req.Body = b
	default:
		req.Body = cluster.JSON(b)
	}
	resp, err := c.Do(ctx, req)
	return req, resp, err
}

// serverReason renders an error answer as "400 type: reason".
func serverReason(req cluster.Request, resp *cluster.Response) string {
	e := cluster.StatusError("", req, resp.Status, resp.Body)
	if e.Type != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Reason)
	}
	return fmt.Sprintf("%d: %s", e.Status, e.Reason)
}

func ok2xx(resp *cluster.Response) bool { return resp.Status >= 200 && resp.Status <= 299 }

// failStep fills a failed step from a transport error or an error answer.
func failStep(s wire.Step, req cluster.Request, resp *cluster.Response, err error) wire.Step {
	s.Outcome = wire.StepFailed
	if err != nil {
		s.Detail = err.Error()
	} else {
		s.Detail = serverReason(req, resp)
	}
	return s
}

// lookup GETs path for step st. exists says whether it is there; when done
// is true st is final: the call failed, the API is not served (skipped with
// the server's reason), or the answer was neither 200 nor 404.
func lookup(ctx context.Context, c *cluster.Client, st wire.Step, path string) (exists bool, resp *cluster.Response, out wire.Step, done bool) {
	req, resp, err := call(ctx, c, http.MethodGet, path, nil, nil)
	if err != nil {
		return false, resp, failStep(st, req, resp, err), true
	}
	if why, ok := dashboards.Unsupported(resp.Status, resp.Body); ok {
		st.Outcome, st.Detail = wire.StepSkipped, why
		return false, resp, st, true
	}
	switch resp.Status {
	case http.StatusOK:
		return true, resp, st, false
	case http.StatusNotFound:
		return false, resp, st, false
	}
	return false, resp, failStep(st, req, resp, nil), true
}

// present is lookup for a removal: a thing that is not there is final too,
// as absent. ok says st is not final: the thing exists.
func present(ctx context.Context, c *cluster.Client, st wire.Step, path string) (resp *cluster.Response, out wire.Step, ok bool) {
	exists, resp, st, done := lookup(ctx, c, st, path)
	if !done && !exists {
		st.Outcome, done = wire.StepAbsent, true
	}
	return resp, st, !done
}

// remove DELETEs path for step st: removed, absent (gone meanwhile) or
// failed.
func remove(ctx context.Context, c *cluster.Client, st wire.Step, path string) wire.Step {
	req, resp, err := call(ctx, c, http.MethodDelete, path, nil, nil)
	switch {
	case err != nil:
		return failStep(st, req, resp, err)
	case resp.Status == http.StatusNotFound:
		st.Outcome = wire.StepAbsent
	case ok2xx(resp):
		st.Outcome = wire.StepRemoved
	default:
		return failStep(st, req, resp, nil)
	}
	return st
}
