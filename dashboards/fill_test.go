package dashboards

import (
	"strings"
	"testing"
)

func TestFill(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		vars    map[string]any
		want    string
		wantErr string // substring of the error; "" for none
	}{
		{name: "string value", doc: `{"s":"index {{a}}"}`, vars: map[string]any{"a": "alerts"},
			want: `{"s":"index alerts"}`},
		{name: "int as the whole string becomes a number", doc: `{"n":"{{n}}"}`, vars: map[string]any{"n": 7},
			want: `{"n":7}`},
		{name: "int inside text stays text", doc: `{"s":"port {{n}}"}`, vars: map[string]any{"n": 7},
			want: `{"s":"port 7"}`},
		{name: "same placeholder twice", doc: `{"a":"{{n}}","b":"{{n}}-{{n}}"}`, vars: map[string]any{"n": 3},
			want: `{"a":3,"b":"3-3"}`},
		{name: "value is JSON-escaped", doc: `{"s":"a {{s}}"}`, vars: map[string]any{"s": `q"\`},
			want: `{"s":"a q\"\\"}`},
		{name: "server mustache is left", doc: `{"s":"{{ctx.results}} {{a}}"}`, vars: map[string]any{"a": "x"},
			want: `{"s":"{{ctx.results}} x"}`},
		{name: "value holding another placeholder's token is not substituted",
			doc: `{"s":"{{a}}","t":"{{b}}"}`, vars: map[string]any{"a": "{{b}}", "b": "x"},
			want: `{"s":"{{b}}","t":"x"}`},
		{name: "value holding an int placeholder's quoted token is not substituted",
			doc: `{"s":"{{a}}","n":"{{n}}"}`, vars: map[string]any{"a": `"{{n}}"`, "n": 5},
			want: `{"s":"\"{{n}}\"","n":5}`},
		{name: "value holding a placeholder without a value is kept",
			doc: `{"s":"{{a}}"}`, vars: map[string]any{"a": "{{nope}}"},
			want: `{"s":"{{nope}}"}`},
		{name: "unused value is ignored", doc: `{"s":"{{a}}"}`, vars: map[string]any{"a": "x", "b": "y"},
			want: `{"s":"x"}`},
		{name: "placeholder without a value", doc: `{"a":"{{missing}}","b":"{{ctx.ok}}"}`, vars: map[string]any{},
			wantErr: "placeholder {{missing}} has no value"},
		{name: "unsupported value type", doc: `{"a":"{{f}}"}`, vars: map[string]any{"f": 1.5},
			wantErr: "unsupported value type float64"},
		{name: "result is not JSON", doc: `{"a":{{n}}}`, vars: map[string]any{"n": "x y"},
			wantErr: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Map iteration order changes between runs: a result that
			// depends on it differs within a few rounds.
			for round := range 32 {
				got, err := fill("x", []byte(tt.doc), tt.vars)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("round %d: err = %v, want %q", round, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if string(got) != tt.want {
					t.Fatalf("round %d: got %s, want %s", round, got, tt.want)
				}
			}
		})
	}
}
