package correlation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseInternetFacing(t *testing.T) {
	lastSeen := time.Date(2025, 1, 1, 10, 0, 0, 123456700, time.UTC)
	full := InternetFacing{
		Reason: "ExternalNetworkConnection", LocalIP: "10.0.0.4", LocalPort: 3389,
		TransportProtocol: "Tcp", LastSeen: lastSeen,
	}
	const doc = `{"InternetFacingLastSeen":"2025-01-01T10:00:00.1234567Z","InternetFacingReason":"ExternalNetworkConnection","InternetFacingLocalIp":"10.0.0.4","InternetFacingLocalPort":3389,"InternetFacingTransportProtocol":"Tcp"}`
	docQuoted, _ := json.Marshal(doc)
	docTwice, _ := json.Marshal(string(docQuoted))
	tests := []struct {
		name    string
		in      string
		want    InternetFacing
		wantErr error
	}{
		{"JSON text (Defender's sample)", doc, full, nil},
		{"JSON string holding JSON text (double-encoded)", string(docQuoted), full, nil},
		{"triple-encoded", string(docTwice), full, nil},
		{"surrounding whitespace", "  \n" + doc + "\t", full, nil},
		{"heartbeat: empty", "", InternetFacing{LocalPort: NoPort}, nil},
		{"heartbeat: null", "null", InternetFacing{LocalPort: NoPort}, nil},
		{"heartbeat: empty JSON string", `""`, InternetFacing{LocalPort: NoPort}, nil},
		{"heartbeat: empty object", `{}`, InternetFacing{LocalPort: NoPort}, nil},
		{"no fields: empty array", `[]`, InternetFacing{LocalPort: NoPort}, nil},
		{"no fields: empty array with blanks", " [ \n ] ", InternetFacing{LocalPort: NoPort}, nil},
		{"no fields: empty array as JSON text in a string", `"[]"`, InternetFacing{LocalPort: NoPort}, nil},
		{"no fields: empty array double-encoded", `"\"[]\""`, InternetFacing{LocalPort: NoPort}, nil},
		{"no fields: empty object in a string", `"{}"`, InternetFacing{LocalPort: NoPort}, nil},
		{"no fields: null in a string", `"null"`, InternetFacing{LocalPort: NoPort}, nil},
		{"array of objects is not AdditionalFields", `[{"InternetFacingLocalPort":22}]`, InternetFacing{LocalPort: NoPort}, ErrAdditionalFields},
		{"array with one number", `"[1]"`, InternetFacing{LocalPort: NoPort}, ErrAdditionalFields},
		{"unclosed array", `[`, InternetFacing{LocalPort: NoPort}, ErrAdditionalFields},
		{"other keys only", `{"DeviceCategory":"Endpoint"}`, InternetFacing{LocalPort: NoPort}, nil},
		{"port as string", `{"InternetFacingLocalPort":"3389"}`, InternetFacing{LocalPort: 3389}, nil},
		{"port as padded string", `{"InternetFacingLocalPort":" 3389 "}`, InternetFacing{LocalPort: 3389}, nil},
		{"port as float", `{"InternetFacingLocalPort":3389.0}`, InternetFacing{LocalPort: 3389}, nil},
		{"port as float string", `{"InternetFacingLocalPort":"3389.0"}`, InternetFacing{LocalPort: 3389}, nil},
		{"port null", `{"InternetFacingLocalPort":null}`, InternetFacing{LocalPort: NoPort}, nil},
		{"port zero", `{"InternetFacingLocalPort":0}`, InternetFacing{LocalPort: 0}, nil},
		{"port fractional", `{"InternetFacingLocalPort":3389.5}`, InternetFacing{LocalPort: NoPort}, ErrFacingField},
		{"port out of range", `{"InternetFacingLocalPort":70000}`, InternetFacing{LocalPort: NoPort}, ErrFacingField},
		{"port negative", `{"InternetFacingLocalPort":-1}`, InternetFacing{LocalPort: NoPort}, ErrFacingField},
		{"port not a number", `{"InternetFacingLocalPort":"rdp","InternetFacingReason":"x"}`, InternetFacing{LocalPort: NoPort, Reason: "x"}, ErrFacingField},
		{"port as object", `{"InternetFacingLocalPort":{"v":1}}`, InternetFacing{LocalPort: NoPort}, ErrFacingField},
		{
			"Defender's public-scanned spelling",
			`{"InternetFacingLocalPort":443,"InternetFacingPublicScannedIp":"52.1.2.3","InternetFacingPublicScannedPort":8443}`,
			InternetFacing{LocalPort: 443, PublicScannedIP: "52.1.2.3", PublicScannedPort: 8443}, nil,
		},
		{
			"the seed's scanned-public spelling",
			`{"InternetFacingLocalPort":443,"InternetFacingScannedPublicIp":"52.1.2.3","InternetFacingScannedPublicPort":"8443"}`,
			InternetFacing{LocalPort: 443, PublicScannedIP: "52.1.2.3", PublicScannedPort: 8443}, nil,
		},
		{
			"both spellings: Defender's wins",
			`{"InternetFacingLocalPort":443,"InternetFacingScannedPublicIp":"9.9.9.9","InternetFacingPublicScannedIp":"52.1.2.3","InternetFacingScannedPublicPort":1,"InternetFacingPublicScannedPort":2}`,
			InternetFacing{LocalPort: 443, PublicScannedIP: "52.1.2.3", PublicScannedPort: 2}, nil,
		},
		{
			"malformed public port falls back to the other spelling",
			`{"InternetFacingLocalPort":443,"InternetFacingPublicScannedPort":"x","InternetFacingScannedPublicPort":2}`,
			InternetFacing{LocalPort: 443, PublicScannedPort: 2}, ErrFacingField,
		},
		{"LastSeen RFC 3339 with offset", `{"InternetFacingLastSeen":"2025-01-01T12:00:00+02:00"}`, InternetFacing{LocalPort: NoPort, LastSeen: time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)}, nil},
		{"LastSeen without zone is UTC", `{"InternetFacingLastSeen":"2025-01-01T10:00:00.1234567"}`, InternetFacing{LocalPort: NoPort, LastSeen: lastSeen}, nil},
		{"LastSeen malformed keeps the port", `{"InternetFacingLocalPort":22,"InternetFacingLastSeen":"yesterday"}`, InternetFacing{LocalPort: 22}, ErrFacingField},
		{"case-insensitive keys", `{"internetfacinglocalport":"22"}`, InternetFacing{LocalPort: 22}, nil},
		{"number in a string field", `{"InternetFacingLocalIp":17}`, InternetFacing{LocalPort: NoPort, LocalIP: "17"}, nil},
		{"not JSON", `InternetFacingLocalPort=22`, InternetFacing{LocalPort: NoPort}, ErrAdditionalFields},
		{"array", `[1,2]`, InternetFacing{LocalPort: NoPort}, ErrAdditionalFields},
		{"truncated object", `{"InternetFacingLocalPort":22`, InternetFacing{LocalPort: NoPort}, ErrAdditionalFields},
		{"string holding garbage", `"not json"`, InternetFacing{LocalPort: NoPort}, ErrAdditionalFields},
		{"bare number", `3389`, InternetFacing{LocalPort: NoPort}, ErrAdditionalFields},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInternetFacing([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePort(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"65535", 65535, true}, {"65536", 0, false}, {"22.0", 22, true}, {"1e3", 1000, true},
		{"NaN", 0, false}, {"Inf", 0, false}, {"-0", 0, true}, {"", 0, false}, {"0x16", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParsePort(tt.in)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("ParsePort(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseInternetFacing(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `"[]"`, ` [ ]`, `{"InternetFacingLocalPort":3389}`, `"{\"InternetFacingLocalPort\":\"22\"}"`,
		`{"InternetFacingLastSeen":"2025-01-01T10:00:00.1234567Z","InternetFacingLocalPort":1.5}`, `[`, `"`, `{"a":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseInternetFacing(data)
		if got.LocalPort != NoPort && (got.LocalPort < 0 || got.LocalPort > 65535) {
			t.Fatalf("LocalPort %d out of range", got.LocalPort)
		}
		if got.PublicScannedPort < 0 || got.PublicScannedPort > 65535 {
			t.Fatalf("PublicScannedPort %d out of range", got.PublicScannedPort)
		}
		if err != nil && !errors.Is(err, ErrAdditionalFields) && !errors.Is(err, ErrFacingField) {
			t.Fatalf("error %v wraps neither sentinel", err)
		}
		if errors.Is(err, ErrAdditionalFields) && got != (InternetFacing{LocalPort: NoPort}) {
			t.Fatalf("ErrAdditionalFields with a non-empty result %+v", got)
		}
		if !got.LastSeen.IsZero() && got.LastSeen.Location() != time.UTC {
			t.Fatalf("LastSeen not UTC: %v", got.LastSeen)
		}
		// Deterministic.
		again, err2 := ParseInternetFacing(data)
		if again != got || (err == nil) != (err2 == nil) {
			t.Fatalf("not deterministic")
		}
		// The fast scanner agrees with encoding/json, result and error.
		ref, refErr := parseInternetFacing(data)
		if ref != got || fmt.Sprint(refErr) != fmt.Sprint(err) {
			t.Fatalf("fast path %+v, %v; encoding/json %+v, %v", got, err, ref, refErr)
		}
	})
}

// TestScanFlatObjectAgrees: the fast scanner takes the common shapes, gives
// encoding/json's answer on them, and hands everything else over.
func TestScanFlatObjectAgrees(t *testing.T) {
	tests := []struct {
		name string
		in   string
		fast bool // scanFlatObject takes it
	}{
		{"defender", `{"InternetFacingLastSeen":"2025-11-08T08:01:55.4585104Z","InternetFacingReason":"PublicScan","InternetFacingLocalIp":"10.228.209.239","InternetFacingLocalPort":25,"InternetFacingPublicScannedIp":"33.164.255.120","InternetFacingPublicScannedPort":25,"InternetFacingTransportProtocol":"Tcp"}`, true},
		{"spaces", " {\n \"InternetFacingLocalPort\" :\t\"3389\" , \"x\": null }", true},
		{"lowered keys", `{"internetfacinglocalport":22,"INTERNETFACINGREASON":"x"}`, true},
		{"duplicate key, last wins", `{"InternetFacingLocalPort":22,"InternetFacingLocalPort":23}`, true},
		{"null value", `{"InternetFacingLocalPort":null}`, true},
		{"float port", `{"InternetFacingLocalPort":3389.0}`, true},
		{"bad port", `{"InternetFacingLocalPort":"ssh"}`, true},
		{"escaped value", `{"InternetFacingReason":"a\"b\u00e9","InternetFacingLocalPort":1}`, true},
		{"booleans", `{"InternetFacingReason":true,"InternetFacingLocalPort":false}`, true},
		{"empty", `{}`, true},
		{"escaped key", `{"InternetFacing\u004cocalPort":22}`, false},
		{"non-ascii key", `{"InternetFacingLastSeen\u017f":"x","é":1}`, false},
		{"nested value", `{"InternetFacingLocalPort":{"a":1}}`, false},
		{"array value", `{"InternetFacingReason":["a"]}`, false},
		{"invalid", `{"InternetFacingLocalPort":22,}`, false},
		{"trailing", `{"InternetFacingLocalPort":22} x`, false},
		{"leading zero", `{"InternetFacingLocalPort":01}`, false},
		{"bare minus", `{"InternetFacingLocalPort":-}`, false},
		{"dot without digits", `{"InternetFacingLocalPort":1.}`, false},
		{"exponent without digits", `{"InternetFacingLocalPort":1e+}`, false},
		{"exponent", `{"InternetFacingLocalPort":2.2e1}`, true},
		{"bad literal", `{"InternetFacingLocalPort":tru}`, false},
		{"bad escape", `{"InternetFacingReason":"\x"}`, false},
		{"bad unicode escape", `{"InternetFacingReason":"\u12G4"}`, false},
		{"control character", "{\"InternetFacingReason\":\"a\tb\"}", false},
		{"unterminated string", `{"InternetFacingReason":"abc`, false},
		{"missing colon", `{"InternetFacingReason" "abc"}`, false},
		{"missing comma", `{"a":1 "b":2}`, false},
		{"unclosed", `{"a":1`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var raw rawFacing
			if got := scanFlatObject(bytes.TrimSpace([]byte(tc.in)), &raw); got != tc.fast {
				t.Errorf("scanFlatObject took it: %v, want %v", got, tc.fast)
			}
			got, err := ParseInternetFacing([]byte(tc.in))
			want, wantErr := parseInternetFacing([]byte(tc.in))
			if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Errorf("ParseInternetFacing = %+v, %v; encoding/json gives %+v, %v", got, err, want, wantErr)
			}
		})
	}
}

// BenchmarkParseInternetFacing: a Defender AdditionalFields object, through
// the fast scanner and through encoding/json.
func BenchmarkParseInternetFacing(b *testing.B) {
	in := []byte(`{"InternetFacingLastSeen":"2025-11-08T08:01:55.4585104Z","InternetFacingReason":"PublicScan","InternetFacingLocalIp":"10.228.209.239","InternetFacingLocalPort":25,"InternetFacingPublicScannedIp":"33.164.255.120","InternetFacingPublicScannedPort":25,"InternetFacingTransportProtocol":"Tcp"}`)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, err := ParseInternetFacing(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseInternetFacing(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
