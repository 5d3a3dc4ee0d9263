package mtlswarm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"
)

func TestStartFinishes(t *testing.T) {
	Start()
	Start() // idempotent: a second call must not start a second warm-up or panic
	select {
	case <-Done():
	case <-time.After(30 * time.Second):
		t.Fatal("warm-up did not finish within 30s")
	}
	// After the warm-up, key generation works as usual.
	k, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil || k.Curve != elliptic.P521() {
		t.Fatalf("GenerateKey after warm-up: %v, %v", k, err)
	}
}
