package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// The reasons below are the servers' own words, as the secured test
// servers answer (dashboards/security/README.md, "How a missing privilege
// shows").
func TestForbiddenReason(t *testing.T) {
	tests := []struct {
		name, reason, path string
		want               string
	}{
		{name: "elasticsearch user, index action",
			reason: "action [indices:admin/delete] is unauthorized for user [edgewatch_detector] with effective roles [edgewatch_detector] on indices [defender-x], this action is granted by the index privileges [delete_index,manage,all]",
			path:   "/defender-x",
			want:   "user edgewatch_detector lacks the privilege for indices:admin/delete on defender-x (granted by the index privileges delete_index, manage, all)"},
		{name: "elasticsearch API key",
			reason: "action [indices:admin/delete] is unauthorized for API key id [FiBYPKIB] of user [edgewatch_admin] on indices [defender-x], this action is granted by the index privileges [delete_index,manage,all]",
			path:   "/defender-x",
			want:   "API key id FiBYPKIB of user edgewatch_admin lacks the privilege for indices:admin/delete on defender-x (granted by the index privileges delete_index, manage, all)"},
		{name: "elasticsearch bulk shard action",
			reason: "action [indices:data/write/bulk[s]] is unauthorized for user [u] with effective roles [r] on indices [edgewatch-alerts-a], this action is granted by the index privileges [create_doc,create,index,write,all]",
			path:   "/edgewatch-alerts-a/_bulk",
			want:   "user u lacks the privilege for indices:data/write/bulk[s] on edgewatch-alerts-a (granted by the index privileges create_doc, create, index, write, all)"},
		{name: "elasticsearch cluster privilege",
			reason: "action [cluster:admin/xpack/security/role/put] is unauthorized for user [u] with effective roles [r], this action is granted by the cluster privileges [manage_security,all]",
			path:   "/_security/role/x",
			want:   "user u lacks the privilege for cluster:admin/xpack/security/role/put (granted by the cluster privileges manage_security, all)"},
		{name: "opensearch: the index comes from the path",
			reason: "no permissions for [indices:admin/delete] and User [name=edgewatch_detector, backend_roles=[], requestedTenant=null]",
			path:   "/defender-x",
			want:   "user edgewatch_detector lacks the permission indices:admin/delete on defender-x"},
		{name: "opensearch: several actions, escaped pattern",
			reason: "no permissions for [indices:data/write/bulk[s], indices:data/write/index] and User [name=u, backend_roles=[], requestedTenant=null]",
			path:   "/edgewatch-alerts-%2A/_bulk",
			want:   "user u lacks the permission indices:data/write/bulk[s], indices:data/write/index on edgewatch-alerts-*"},
		{name: "opensearch: an API path names no index",
			reason: "no permissions for [cluster:monitor/state] and User [name=u, backend_roles=[], requestedTenant=null]",
			path:   "/_cat/indices",
			want:   "user u lacks the permission cluster:monitor/state"},
		{name: "another shape is kept", reason: "something else", path: "/x", want: "something else"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := forbiddenReason(tt.reason, Request{Path: tt.path}); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestStatusError403NamesTheIndex(t *testing.T) {
	body := `{"error":{"root_cause":[{"type":"security_exception","reason":"no permissions for [indices:admin/delete] and User [name=d, backend_roles=[], requestedTenant=null]"}],"type":"security_exception","reason":"no permissions for [indices:admin/delete] and User [name=d, backend_roles=[], requestedTenant=null]"},"status":403}`
	err := StatusError("delete defender-1", Request{Method: "DELETE", Path: "/defender-1"}, 403, []byte(body))
	want := "delete defender-1: DELETE /defender-1: 403 security_exception: user d lacks the permission indices:admin/delete on defender-1"
	if err.Error() != want || !errors.Is(err, ErrUnauthorized) {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestStatusErrorRefusedAPIKey(t *testing.T) {
	body := `{"error":{"root_cause":[{"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request","additional_unsuccessful_credentials":"API key: api key [k1] has been invalidated"}],"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request","additional_unsuccessful_credentials":"API key: api key [k1] has been invalidated"},"status":401}`
	err := StatusError("version check", Request{Method: "GET", Path: "/"}, 401, []byte(body))
	if !strings.Contains(err.Error(), "(API key: api key [k1] has been invalidated)") {
		t.Errorf("the reason the key was refused is lost: %s", err)
	}
}

func TestErrorShortensALongPath(t *testing.T) {
	e := &Error{Op: "read mapping", Method: "GET", Path: "/idx/_mapping/field/" + strings.Repeat("Field,", 100), Status: 403, Reason: "r"}
	if msg := e.Error(); len(msg) > 200 || !strings.Contains(msg, "…: 403: r") {
		t.Errorf("message of %d bytes: %s", len(msg), msg)
	}
}

func TestConfigIdentity(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString([]byte("key-id-1:secret-part"))
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"user", Config{Username: "edgewatch_detector", Password: "pw"}, "user edgewatch_detector"},
		{"API key", Config{APIKey: enc, Username: "ignored"}, "API key id key-id-1"},
		{"API key not in the encoded form", Config{APIKey: "not base64!"}, "API key"},
		{"none", Config{}, "no credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cfg.Identity()
			if got != tt.want {
				t.Errorf("Identity() = %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "secret-part") || strings.Contains(got, "pw") {
				t.Errorf("Identity() shows a secret: %q", got)
			}
		})
	}
}

func TestCheckPrivileges(t *testing.T) {
	tests := []struct {
		name    string
		flavor  Flavor
		status  int
		answer  string
		wantErr []string // substrings; nil: no error
	}{
		{name: "all held", flavor: Elasticsearch, status: 200,
			answer: `{"username":"d","has_all_requested":true,"index":{"defender-*":{"read":true}}}`},
		{name: "read and create_doc missing", flavor: Elasticsearch, status: 200,
			answer:  `{"username":"d","has_all_requested":false,"index":{"defender-*":{"read":false},"edgewatch-alerts-x":{"create_doc":false},"edgewatch-state":{"read":true,"write":true}}}`,
			wantErr: []string{"user d lacks the index privilege create_doc on edgewatch-alerts-x; read on defender-*", "403"}},
		{name: "security off: nothing to check", flavor: Elasticsearch, status: 400,
			answer: `{"error":{"type":"illegal_state_exception","reason":"Security must be explicitly enabled"}}`},
		{name: "refused credentials", flavor: Elasticsearch, status: 401, answer: `{"error":"x"}`, wantErr: []string{"401"}},
		{name: "opensearch has no such API", flavor: OpenSearch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent []byte
			d := DoerFunc(func(_ context.Context, req Request) (*Response, error) {
				if tt.flavor == OpenSearch {
					t.Fatalf("a request to OpenSearch: %s %s", req.Method, req.Path)
				}
				if req.Method != http.MethodPost || req.Path != "/_security/user/_has_privileges" {
					t.Errorf("request %s %s", req.Method, req.Path)
				}
				sent = req.Body
				return &Response{Status: tt.status, Body: []byte(tt.answer)}, nil
			})
			c := NewClient(d, ServerInfo{Flavor: tt.flavor}, WithIdentity(""))
			want := []IndexPrivileges{{Names: []string{"defender-*"}, Privileges: []string{"read"}},
				{Names: []string{"edgewatch-alerts-x"}, Privileges: []string{"create_doc"}}}
			err := CheckPrivileges(context.Background(), c, want)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
			} else {
				if err == nil {
					t.Fatal("no error")
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				if !errors.Is(err, ErrUnauthorized) {
					t.Errorf("error %v does not match ErrUnauthorized", err)
				}
			}
			if sent != nil {
				var body struct {
					Index []IndexPrivileges `json:"index"`
				}
				if err := json.Unmarshal(sent, &body); err != nil || len(body.Index) != 2 || body.Index[1].Privileges[0] != "create_doc" {
					t.Errorf("request body %s", sent)
				}
			}
		})
	}
}

func TestBulkErrorOneReasonForAll(t *testing.T) {
	f := DocFailure{Status: 403, Type: "security_exception", Reason: "user u lacks the permission indices:data/write/bulk[s] on a"}
	same := &BulkError{Index: "a", Total: 3, Failed: 3}
	for _, id := range []string{"1", "2", "3"} {
		g := f
		g.ID = id
		same.Failures = append(same.Failures, g)
	}
	want := "bulk create into a: 3 of 3 documents failed, all with 403 security_exception: user u lacks the permission indices:data/write/bulk[s] on a"
	if got := same.Error(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	mixed := &BulkError{Index: "a", Total: 3, Failed: 2, Failures: []DocFailure{same.Failures[0], {ID: "9", Status: 400, Reason: "bad"}}}
	if got := mixed.Error(); !strings.Contains(got, "1: 403") || !strings.Contains(got, "9: 400 bad") {
		t.Errorf("mixed failures: %q", got)
	}
}
