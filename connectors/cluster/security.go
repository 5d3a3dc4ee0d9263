package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"syscall"
)

// Messages for secured clusters: who was refused (a user, an API key), which
// privilege on which index a 403 is about, and what a TLS failure means.
// They stay on one line and never quote a secret.

// Identity names the credential of c for messages: "user NAME", "API key id
// ID" (the id is not secret), or "no credentials".
func (c Config) Identity() string {
	switch {
	case c.APIKey != "":
		if id := apiKeyID(c.APIKey); id != "" {
			return "API key id " + id
		}
		return "API key"
	case c.Username != "":
		return "user " + c.Username
	}
	return "no credentials"
}

// apiKeyID is the id of an Elasticsearch API key given as its "encoded"
// form (base64 of "id:key"), or "" when it is not one.
func apiKeyID(key string) string {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding} {
		b, err := enc.DecodeString(key)
		if err != nil {
			continue
		}
		if id, _, ok := strings.Cut(string(b), ":"); ok && id != "" && !strings.ContainsAny(id, " \t\r\n") {
			return id
		}
	}
	return ""
}

// ConnectError explains a failed connection to flavor with cfg in one line,
// "connect to <flavor> [<urls>]: <what it means>: <err>", wrapping err:
// refused credentials name the identity (Config.Identity) and what to check,
// a TLS failure says which check failed and what to give, and a plain-HTTP
// request to a TLS port (or the reverse) says which scheme to use.
func ConnectError(flavor Flavor, cfg Config, err error) error {
	if n, nerr := cfg.Normalize(); nerr == nil {
		cfg = n
	}
	urls := make([]string, len(cfg.URLs))
	for i, u := range cfg.URLs {
		urls[i] = redactURL(u)
	}
	where := fmt.Sprint(urls)
	if hint := connectHint(cfg, err); hint != "" {
		return fmt.Errorf("connect to %s %s: %s: %w", flavor, where, hint, err)
	}
	return fmt.Errorf("connect to %s %s: %w", flavor, where, err)
}

func connectHint(cfg Config, err error) string {
	var e *Error
	if errors.As(err, &e) && e.Status == 401 {
		switch {
		case cfg.APIKey != "":
			return "authentication failed for the " + cfg.Identity() + ": the key is wrong, expired or invalidated"
		case cfg.Username != "":
			return "authentication failed for " + cfg.Identity() + ": check the user name and the password"
		}
		return "the cluster requires authentication: give a user name and password or an API key"
	}
	if hint := tlsHint(cfg, err); hint != "" {
		return hint
	}
	return ""
}

// IsTLSError reports a failure that trying again cannot mend: the server's
// certificate failed verification, or an https:// request reached a
// plain-HTTP server.
func IsTLSError(err error) bool {
	return err != nil && tlsHint(Config{}, err) != ""
}

// tlsHint explains a TLS failure or a scheme mismatch; "" for other errors.
func tlsHint(cfg Config, err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		if cfg.CAFile == "" {
			return "TLS: the server's certificate is not signed by a trusted authority: give the cluster's CA certificate (--ca-file, ca_file)"
		}
		return "TLS: the server's certificate is not signed by the CA in " + cfg.CAFile + ": is that the cluster's CA?"
	case errors.As(err, &host):
		return "TLS: the server's certificate is not valid for " + host.Host + ": use a host name the certificate names"
	case errors.As(err, &invalid):
		return "TLS: the server's certificate is not valid (expired, not yet valid or not for servers)"
	case errors.As(err, new(tls.RecordHeaderError)), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"),
		strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return "TLS: the server answers plain HTTP, not HTTPS: use an http:// URL"
	}
	if allScheme(cfg.URLs, "http") && closedWithoutAnswer(err) {
		return "the server closed the connection without answering a plain-HTTP request: if it serves HTTPS, use an https:// URL"
	}
	return ""
}

// closedWithoutAnswer reports a connection that ended before an answer: what
// a TLS-only port does with a plain-HTTP request.
func closedWithoutAnswer(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	msg := err.Error()
	return strings.HasSuffix(msg, ": EOF") || strings.Contains(msg, "connection reset by peer") ||
		strings.Contains(msg, "malformed HTTP response")
}

func allScheme(urls []string, scheme string) bool {
	for _, u := range urls {
		if !strings.HasPrefix(strings.ToLower(u), scheme+"://") {
			return false
		}
	}
	return len(urls) > 0
}

// The server's words for a missing privilege.
var (
	// Elasticsearch: "action [A] is unauthorized for user [U] with
	// effective roles [R] on indices [I], this action is granted by the
	// index privileges [P]" (an API key: "for API key id [K] of user [U]").
	esForbiddenRE = regexp.MustCompile(`^action \[(.+?)\] is unauthorized for (.+?)(?: with (?:effective )?roles? \[[^\]]*\])?(?: on (?:indices|index) \[([^\]]*)\])?, this action is granted by the (index|cluster) privileges \[([^\]]*)\]`)
	// OpenSearch: "no permissions for [A] and User [name=U, backend_roles=…]"
	// — no index.
	osForbiddenRE = regexp.MustCompile(`^no permissions for \[(.+?)\] and User \[name=([^,\]]+)`)
)

// forbiddenReason rewrites the reason of a 403 into one sentence naming
// who, the action, the index and the privileges that grant it. OpenSearch
// does not name the index: it is taken from the request path (its first
// segment, unless that is an API such as _bulk or _search). Reasons in
// another shape are kept as they are.
func forbiddenReason(reason string, req Request) string {
	if m := esForbiddenRE.FindStringSubmatch(reason); m != nil {
		who, on := m[2], ""
		who = strings.NewReplacer("[", "", "]", "").Replace(who)
		if m[3] != "" {
			on = " on " + m[3]
		} else if idx := pathIndex(req.Path); idx != "" && m[4] == "index" {
			on = " on " + idx
		}
		return fmt.Sprintf("%s lacks the privilege for %s%s (granted by the %s privileges %s)", who, m[1], on, m[4],
			strings.ReplaceAll(m[5], ",", ", "))
	}
	if m := osForbiddenRE.FindStringSubmatch(reason); m != nil {
		on := ""
		if idx := pathIndex(req.Path); idx != "" {
			on = " on " + idx
		}
		return fmt.Sprintf("user %s lacks the permission %s%s", m[2], m[1], on)
	}
	return reason
}

// pathIndex is the index (or pattern) a request path names: its first
// segment when that is not an API ("_bulk", "_search", "_security"…).
func pathIndex(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if seg == "" || strings.HasPrefix(seg, "_") {
		return ""
	}
	if s, err := url.PathUnescape(seg); err == nil {
		seg = s
	}
	return seg
}
