package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// IndexPrivileges are privileges wanted on index names or patterns, in
// Elasticsearch's names ("read", "create_doc", "write"…).
type IndexPrivileges struct {
	Names      []string `json:"names"`
	Privileges []string `json:"privileges"`
}

// CheckPrivileges makes sure the client's credential holds want before a
// run starts, and otherwise returns an error (matching ErrUnauthorized)
// naming every index pattern and privilege it lacks.
//
// Elasticsearch needs this: a wildcard search over indices the role does
// not cover answers 200 with nothing in it (the pattern expands to the
// permitted indices only), so a detector without read on the Defender
// indices would silently find nothing. It answers through the
// _has_privileges API, which every user and API key may call. OpenSearch
// refuses such a search (403 naming the action) and has no such API: the
// check passes there, as it does on a server without security.
func CheckPrivileges(ctx context.Context, c *Client, want []IndexPrivileges) error {
	if c.Flavor() != Elasticsearch || len(want) == 0 {
		return nil
	}
	req := Request{Method: http.MethodPost, Path: "/_security/user/_has_privileges",
		Body: JSON(map[string]any{"index": want})}
	resp, err := c.Do(ctx, req)
	if err != nil {
		return err
	}
	switch {
	case resp.Status == http.StatusOK:
	case resp.Status == http.StatusUnauthorized:
		return StatusError("privilege check", req, resp.Status, resp.Body)
	default:
		// Security off, or an API that is not there: nothing to check.
		c.log.Debug("privilege check not possible", "status", resp.Status)
		return nil
	}
	var r struct {
		Username string                     `json:"username"`
		All      bool                       `json:"has_all_requested"`
		Index    map[string]map[string]bool `json:"index"`
	}
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return &Error{Op: "privilege check", Method: req.Method, Path: req.Path, Status: resp.Status,
			Reason: "cannot decode answer: " + err.Error(), Downstream: true}
	}
	if r.All {
		return nil
	}
	var missing []string
	for name, privs := range r.Index {
		var lack []string
		for p, ok := range privs {
			if !ok {
				lack = append(lack, p)
			}
		}
		if len(lack) > 0 {
			sort.Strings(lack)
			missing = append(missing, strings.Join(lack, ", ")+" on "+name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	who := c.Identity()
	if who == "" {
		who = "user " + r.Username
	}
	return &Error{Op: "privilege check", Status: http.StatusForbidden, Type: "security_exception", Downstream: true,
		Reason: fmt.Sprintf("%s lacks the index privilege %s (checked before the run: on Elasticsearch a search over indices a role does not cover finds nothing instead of failing)",
			who, strings.Join(missing, "; "))}
}
