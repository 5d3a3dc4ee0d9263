package mtlswarm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"sync"
)

// envClientCert is set by a go-plugin host that launches its plugin with
// AutoMTLS: the plugin will generate a P-521 certificate of its own.
const envClientCert = "PLUGIN_CLIENT_CERT"

func init() {
	if os.Getenv(envClientCert) != "" {
		Start()
	}
}

var (
	once sync.Once
	done = make(chan struct{})
)

// Start begins the warm-up in the background; later calls do nothing.
func Start() {
	once.Do(func() {
		go func() {
			defer close(done)
			// The key is thrown away: generating it is what builds the
			// shared P-521 base-point table.
			_, _ = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		}()
	})
}

// Done is closed when a started warm-up has finished.
func Done() <-chan struct{} { return done }
