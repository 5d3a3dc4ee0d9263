package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeSettings(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string // "" = ok
	}{
		{"empty", "", ""},
		{"detection named", `{"source":"opensearch","detection":"defender-ti"}`, ""},
		{"dotted detection", `{"detection":"defender.ti"}`, "detection name"},
		{"upper-case detection", `{"detection":"Defender"}`, "detection name"},
		{"unknown key", `{"sauce":"file"}`, "unknown field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeSettings([]byte(tc.in))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("DecodeSettings: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("DecodeSettings = %v, want an error with %q", err, tc.wantErr)
			}
			if tc.wantErr == "detection name" && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
		})
	}
}
