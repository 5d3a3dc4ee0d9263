package file

import (
	"bytes"
	"strings"

	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
)

// table is one Defender table a read asks for: its name, as the table
// markers spell it, and the CSV columns without which none of its rows is
// usable.
type table struct {
	name string
	// category is the Streaming API category as written, quotes included:
	// the common case, compared as bytes before any decoding.
	category string
	// needed lists the columns a CSV export must have; each entry is one
	// column or alternatives ("Timestamp" or "TimeGenerated").
	needed [][]string
}

var (
	networkEventsTable = &table{
		name:     "DeviceNetworkEvents",
		category: `"` + categoryPrefix + "DeviceNetworkEvents" + `"`,
		// The match needs an inbound accept (ActionType) on a facing
		// (DeviceId, LocalPort) from a feed address (RemoteIP), at a time.
		needed: [][]string{{"DeviceId"}, {"ActionType"}, {"RemoteIP"}, {"LocalPort"}, {"Timestamp", "TimeGenerated"}},
	}
	deviceInfoTable = &table{
		name:     "DeviceInfo",
		category: `"` + categoryPrefix + "DeviceInfo" + `"`,
		// A facing port comes from AdditionalFields on a row whose
		// IsInternetFacing is true.
		needed: [][]string{{"DeviceId"}, {"IsInternetFacing"}, {"AdditionalFields"}, {"Timestamp", "TimeGenerated"}},
	}
)

// missing returns the needed columns that cols lacks, alternatives joined
// with " or ".
func (t *table) missing(cols []string) []string {
	var out []string
	for _, alts := range t.needed {
		found := false
		for _, a := range alts {
			for _, c := range cols {
				if c == a {
					found = true
				}
			}
		}
		if !found {
			out = append(out, strings.Join(alts, " or "))
		}
	}
	return out
}

// is reports whether name (a table marker's value) is this table.
func (t *table) is(name []byte) bool {
	return string(name) == t.name || bytes.EqualFold(name, []byte(t.name))
}

// Table markers. A Streaming API record names its table in category
// ("AdvancedHunting-DeviceNetworkEvents"), a Log Analytics / Sentinel row
// in its Type column ("DeviceNetworkEvents"). Rows without one (Advanced
// Hunting rows from the portal or the API) are taken for the table read.
const categoryPrefix = "AdvancedHunting-"

// markerTable returns the table a marker value names (see tableName); nil
// when v is not a JSON string naming one. The result may point into buf.
func markerTable(v []byte, kind byte, buf *[64]byte) []byte {
	if kind != jsonscan.KindString {
		return nil
	}
	s, ok := jsonscan.Unquote(v, buf[:0])
	if !ok {
		return nil
	}
	return tableName(s)
}

// tableName returns the table a marker's text names: a category without its
// AdvancedHunting- prefix, a Type as it is; nil when it is blank.
func tableName(s []byte) []byte {
	s = jsonscan.TrimSpace(s)
	if len(s) > len(categoryPrefix) && (string(s[:len(categoryPrefix)]) == categoryPrefix || bytes.EqualFold(s[:len(categoryPrefix)], []byte(categoryPrefix))) {
		s = s[len(categoryPrefix):]
	}
	if len(s) == 0 {
		return nil
	}
	return s
}
