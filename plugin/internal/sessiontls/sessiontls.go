package sessiontls

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"time"
)

// EnvFD names the environment variable with the number of the inherited
// file descriptor from which a plugin reads its session (New's Bundle).
const EnvFD = "EDGEWATCH_PLUGIN_TLS_FD"

// EnvAutoMTLSCert is the variable through which go-plugin's AutoMTLS passes
// the host's certificate to a plugin.
const EnvAutoMTLSCert = "PLUGIN_CLIENT_CERT"

// serverName is the name both certificates carry and the host verifies,
// as go-plugin's AutoMTLS does.
const serverName = "localhost"

// maxBundle bounds what a plugin reads from the pipe: a bundle is under
// 2 KiB.
const maxBundle = 64 << 10

// PEM block types of a bundle.
const (
	pemPluginCert = "EDGEWATCH PLUGIN CERTIFICATE"
	pemPluginKey  = "EDGEWATCH PLUGIN PRIVATE KEY"
	pemHostCert   = "EDGEWATCH HOST CERTIFICATE"
)

// Session is one launch's TLS material, seen from the host.
type Session struct {
	// Host is the host's client configuration: its certificate, and the
	// plugin's as the only trusted root.
	Host *tls.Config
	// HostCertPEM is the host's certificate in PEM, for EnvAutoMTLSCert.
	HostCertPEM []byte
	// Bundle is what the plugin reads from its pipe: its certificate and
	// private key and the host's certificate. It holds a private key: it
	// goes into the pipe and nowhere else.
	Bundle []byte
}

// New generates a session: two fresh Ed25519 key pairs with self-signed
// certificates.
func New() (*Session, error) {
	hostCert, hostKey, err := selfSigned("edgewatch host")
	if err != nil {
		return nil, err
	}
	pluginCert, pluginKey, err := selfSigned("edgewatch plugin")
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(pluginKey)
	if err != nil {
		return nil, fmt.Errorf("session TLS: encode the plugin key: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(pluginCert)
	hostCertPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hostCert.Raw})
	var bundle bytes.Buffer
	for _, b := range []*pem.Block{
		{Type: pemPluginCert, Bytes: pluginCert.Raw},
		{Type: pemPluginKey, Bytes: keyDER},
		{Type: pemHostCert, Bytes: hostCert.Raw},
	} {
		_ = pem.Encode(&bundle, b) // a bytes.Buffer does not fail
	}
	return &Session{
		Host: &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{hostCert.Raw}, PrivateKey: hostKey, Leaf: hostCert}},
			RootCAs:      roots,
			ServerName:   serverName,
			MinVersion:   tls.VersionTLS12,
		},
		HostCertPEM: hostCertPEM,
		Bundle:      bundle.Bytes(),
	}, nil
}

// selfSigned makes an Ed25519 key and a certificate for it that serves as
// its own root, for both client and server authentication.
func selfSigned(cn string) (*x509.Certificate, ed25519.PrivateKey, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("session TLS: generate a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("session TLS: serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"edgewatch"}},
		DNSNames:              []string{serverName},
		NotBefore:             now.Add(-time.Hour),   // clock steps between host and plugin
		NotAfter:              now.AddDate(10, 0, 0), // a serve-mode plugin lives as long as its host
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, nil, fmt.Errorf("session TLS: create a certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("session TLS: parse the certificate: %w", err)
	}
	return cert, key, nil
}

// Plugin reads a bundle and returns the plugin's server configuration: its
// certificate, and the host's as the only client it accepts.
func Plugin(r io.Reader) (*tls.Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBundle+1))
	if err != nil {
		return nil, fmt.Errorf("session TLS: read the bundle: %w", err)
	}
	if len(data) > maxBundle {
		return nil, fmt.Errorf("session TLS: bundle larger than %d bytes", maxBundle)
	}
	blocks := map[string][]byte{}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks[b.Type] = b.Bytes
	}
	for _, typ := range []string{pemPluginCert, pemPluginKey, pemHostCert} {
		if blocks[typ] == nil {
			return nil, fmt.Errorf("session TLS: bundle has no %s block", typ)
		}
	}
	key, err := x509.ParsePKCS8PrivateKey(blocks[pemPluginKey])
	if err != nil {
		return nil, fmt.Errorf("session TLS: plugin key: %w", err)
	}
	cert, err := x509.ParseCertificate(blocks[pemPluginCert])
	if err != nil {
		return nil, fmt.Errorf("session TLS: plugin certificate: %w", err)
	}
	host, err := x509.ParseCertificate(blocks[pemHostCert])
	if err != nil {
		return nil, fmt.Errorf("session TLS: host certificate: %w", err)
	}
	clients := x509.NewCertPool()
	clients.AddCert(host)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clients,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// FromEnv is a plugin's go-plugin TLSProvider: it reads the bundle from the
// descriptor EnvFD names, or returns nil when the host did not start a
// session (a host that uses go-plugin's AutoMTLS).
func FromEnv() (*tls.Config, error) {
	v := os.Getenv(EnvFD)
	if v == "" {
		return nil, nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("session TLS: %s=%q is not an inherited descriptor", EnvFD, v)
	}
	f := os.NewFile(uintptr(fd), "edgewatch-session-tls") // not nil: fd >= 3
	defer f.Close()
	return Plugin(f)
}
