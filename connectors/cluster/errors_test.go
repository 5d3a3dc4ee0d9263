package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		name, body, wantType, wantReason string
	}{
		{
			name:       "index not found",
			body:       `{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [x]"}],"type":"index_not_found_exception","reason":"no such index [x]","index":"x"},"status":404}`,
			wantType:   "index_not_found_exception",
			wantReason: "no such index [x]",
		},
		{
			name:       "caused by is appended",
			body:       `{"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [source.ip] of type [ip]","caused_by":{"type":"illegal_argument_exception","reason":"'not-an-ip' is not an IP string literal."}},"status":400}`,
			wantType:   "mapper_parsing_exception",
			wantReason: "failed to parse field [source.ip] of type [ip] (caused by illegal_argument_exception: 'not-an-ip' is not an IP string literal.)",
		},
		{name: "plain string", body: `{"error":"alias [a] missing","status":404}`, wantReason: "alias [a] missing"},
		{name: "not json", body: `<html>bad gateway</html>`, wantReason: "<html>bad gateway</html>"},
		{name: "empty", body: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, reason := ParseErrorBody([]byte(tt.body))
			if typ != tt.wantType || reason != tt.wantReason {
				t.Fatalf("got (%q, %q), want (%q, %q)", typ, reason, tt.wantType, tt.wantReason)
			}
		})
	}
}

func TestStatusErrorTaxonomy(t *testing.T) {
	req := Request{Method: "PUT", Path: "/x/_doc/1"}
	tests := []struct {
		status                int
		downstream, retryable bool
		is                    error
	}{
		{400, false, false, nil},
		{401, true, false, ErrUnauthorized},
		{403, true, false, ErrUnauthorized},
		{404, true, false, ErrNotFound},
		{409, true, false, ErrConflict},
		{413, false, false, nil},
		{429, true, true, nil},
		{500, true, true, nil},
		{502, true, true, nil},
		{503, true, true, nil},
		{504, true, true, nil},
		{501, true, false, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			err := error(StatusError("op", req, tt.status, []byte(`{"error":{"type":"t","reason":"r"}}`)))
			wrapped := fmt.Errorf("outer: %w", err)
			if IsDownstream(wrapped) != tt.downstream || IsRetryable(wrapped) != tt.retryable {
				t.Fatalf("downstream=%v retryable=%v", IsDownstream(wrapped), IsRetryable(wrapped))
			}
			for _, s := range []error{ErrConflict, ErrNotFound, ErrUnauthorized, ErrConfig} {
				if got := errors.Is(wrapped, s); got != (s == tt.is) {
					t.Errorf("errors.Is(%v) = %v", s, got)
				}
			}
			if want := fmt.Sprintf("op: PUT /x/_doc/1: %d t: r", tt.status); err.Error() != want {
				t.Errorf("message %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestTransportErrorTaxonomy(t *testing.T) {
	req := Request{Method: "GET", Path: "/"}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{}}
	tests := []struct {
		name                  string
		err                   error
		downstream, retryable bool
	}{
		{"connection refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true, true},
		{"net op error", refused, true, true},
		{"caller cancelled", context.Canceled, false, false},
		{"request timeout", fmt.Errorf("perform: %w", context.DeadlineExceeded), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := TransportError("op", req, tt.err)
			if err.Downstream != tt.downstream || err.Retryable != tt.retryable {
				t.Fatalf("downstream=%v retryable=%v", err.Downstream, err.Retryable)
			}
			if !errors.Is(err, tt.err) {
				t.Fatal("cause not kept in the chain")
			}
		})
	}
}

func TestTransportErrorScrubsSecrets(t *testing.T) {
	cause := errors.New(`Get "http://edgewatch:` + testPassword + `@127.0.0.1:9201/": dial tcp: connection refused; key ` + testAPIKey)
	err := TransportError("version check", Request{Method: "GET", Path: "/"}, cause, testPassword, testAPIKey)
	msg := err.Error()
	if strings.Contains(msg, testPassword) || strings.Contains(msg, testAPIKey) {
		t.Fatalf("message leaks a secret: %s", msg)
	}
	if !strings.Contains(msg, "connection refused") || !strings.Contains(msg, "edgewatch:[redacted]@127.0.0.1") {
		t.Fatalf("message lost its content: %s", msg)
	}
	if !errors.Is(err, cause) {
		t.Fatal("scrubbing broke the error chain")
	}
}

func TestRedactUserinfo(t *testing.T) {
	tests := map[string]string{
		"http://u:p4ss@h:1/x and https://v:w0rd@k": "http://u:[redacted]@h:1/x and https://v:[redacted]@k",
		"http://user@h/ no password":               "http://user@h/ no password",
		"no url here":                              "no url here",
		`"http://a:b@c" quoted`:                    `"http://a:[redacted]@c" quoted`,
		"http://u:[redacted]@h already redacted":   "http://u:[redacted]@h already redacted",
	}
	for in, want := range tests {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCallerContextEndedIsNotRetryable: a timeout of the caller's own
// context is not the cluster's fault and is not retried (mock Doer).
func TestCallerContextEndedIsNotRetryable(t *testing.T) {
	c := NewClient(DoerFunc(func(ctx context.Context, _ Request) (*Response, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}), ServerInfo{Flavor: OpenSearch})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := c.Call(ctx, "op", Request{Method: "GET", Path: "/"}, nil)
	if err == nil || IsRetryable(err) || IsDownstream(err) {
		t.Fatalf("err = %v retryable=%v downstream=%v", err, IsRetryable(err), IsDownstream(err))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cause lost: %v", err)
	}
}
