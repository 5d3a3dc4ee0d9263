package stack

import (
	"context"
	"fmt"
	"net/url"

	"github.com/edgewatch/edgewatch/connectors/cluster"
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
