package detector

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// settingsSchema is the JSON Schema of wire.Settings, derived from its
// json tags so that it cannot drift from the type.
var settingsSchema = mustSchema(reflect.TypeFor[wire.Settings]())

func mustSchema(t reflect.Type) json.RawMessage {
	s := schemaOf(t)
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["title"] = "edgewatch run settings"
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[wire.Duration]()
	rawType      = reflect.TypeFor[json.RawMessage]()
)

func schemaOf(t reflect.Type) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case durationType:
		return map[string]any{"type": "string", "description": `a duration such as "30d", "12h" or "90m"`}
	case rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = schemaOf(f.Type)
		}
		return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	}
	return map[string]any{}
}
