package file

import (
	"errors"
	"time"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/correlation"
)

// deviceDecoder turns rows into DeviceInfo values. DeviceInfo tables are
// small next to DeviceNetworkEvents, so every row is decoded in full.
type deviceDecoder struct {
	from, to  time.Time
	src       string
	rep       connectors.Report
	out       []correlation.DeviceInfo
	scratch   []byte
	afScratch []byte // unquoted AdditionalFields
}

func (d *deviceDecoder) skip(reason string, line int) {
	d.rep.Skip(reason, correlation.Location{Source: d.src, Line: line})
}

// Device fields.
const (
	dNone = iota
	dTimestamp
	dTimeGenerated
	dEnvTime
	dProperties
	dRecords
	dDeviceId
	dDeviceName
	dIsInternetFacing
	dPublicIP
	dOSPlatform
	dMachineGroup
	dAdditionalFields
)

func deviceField(k []byte) int {
	switch string(k) {
	case "Timestamp":
		return dTimestamp
	case "TimeGenerated":
		return dTimeGenerated
	case "time":
		return dEnvTime
	case "properties":
		return dProperties
	case "records":
		return dRecords
	case "DeviceId":
		return dDeviceId
	case "DeviceName":
		return dDeviceName
	case "IsInternetFacing":
		return dIsInternetFacing
	case "PublicIP":
		return dPublicIP
	case "OSPlatform":
		return dOSPlatform
	case "MachineGroup":
		return dMachineGroup
	case "AdditionalFields":
		return dAdditionalFields
	}
	return dNone
}

// row decodes one DeviceInfo row (flat, Sentinel, Streaming API record or
// Event Hub batch; see eventDecoder.row).
func (d *deviceDecoder) row(row []byte, line int, envTime []byte, depth int) {
	b := jsonscan.TrimSpace(row)
	if len(b) == 0 {
		return
	}
	if reason := shapeReason(b, depth); reason != "" {
		d.rep.Read++
		d.skip(reason, line)
		return
	}
	var (
		di         correlation.DeviceInfo
		vals       [dAdditionalFields + 1][]byte
		kinds      [dAdditionalFields + 1]byte
		recordsOff int
	)
	it := jsonscan.NewObjIter(b)
	for it.Next() {
		key := it.Key
		var kbuf [64]byte
		if it.KeyEsc {
			k, ok := jsonscan.Unescape(key, kbuf[:0])
			if !ok {
				continue
			}
			key = k
		}
		f := deviceField(key)
		if f == dNone || vals[f] != nil {
			continue
		}
		vals[f], kinds[f] = it.Val, it.Kind
		if f == dRecords {
			recordsOff = it.ValOff
		}
	}
	if err := it.Rest(); err != nil {
		d.rep.Read++
		d.skip(reasonBadJSON, line)
		return
	}
	if vals[dDeviceId] == nil && vals[dIsInternetFacing] == nil {
		if vals[dProperties] != nil && kinds[dProperties] == jsonscan.KindObject {
			env := vals[dEnvTime]
			if env == nil || kinds[dEnvTime] != jsonscan.KindString {
				env = envTime
			}
			d.row(vals[dProperties], line, env, depth+1)
			return
		}
		if vals[dRecords] != nil && kinds[dRecords] == jsonscan.KindArray {
			d.batch(b, vals[dRecords], recordsOff, line, depth)
			return
		}
	}
	d.rep.Read++
	di.DeviceID = d.str(vals[dDeviceId], kinds[dDeviceId])
	if di.DeviceID == "" || kinds[dDeviceId] != jsonscan.KindString {
		d.skip(reasonMissingDevice, line)
		return
	}
	tv, tk := vals[dTimestamp], kinds[dTimestamp]
	if tv == nil || tk == jsonscan.KindNull {
		tv, tk = vals[dTimeGenerated], kinds[dTimeGenerated]
	}
	if tv == nil || tk == jsonscan.KindNull {
		tv, tk = envTime, jsonscan.KindString
	}
	t, st := timeOf(tv, tk, d.scratch[:0])
	switch st {
	case fieldMissing:
		d.skip(reasonMissingTime, line)
		return
	case fieldBad:
		d.skip(reasonBadTime, line)
		return
	}
	if !inWindow(t, d.from, d.to) {
		return
	}
	di.Time = t
	di.DeviceName = d.str(vals[dDeviceName], kinds[dDeviceName])
	di.PublicIP = d.str(vals[dPublicIP], kinds[dPublicIP])
	di.OSPlatform = d.str(vals[dOSPlatform], kinds[dOSPlatform])
	di.MachineGroup = d.str(vals[dMachineGroup], kinds[dMachineGroup])
	di.IsInternetFacing, _ = parseBool(vals[dIsInternetFacing], kinds[dIsInternetFacing])

	facing, err := d.facing(vals[dAdditionalFields], kinds[dAdditionalFields])
	if err != nil {
		d.skip(reasonBadAdditional, line)
		return
	}
	di.Facing = facing
	di.Loc = correlation.Location{Source: d.src, Line: line}
	d.out = append(d.out, di)
	d.rep.Passed++
}

// facing parses AdditionalFields given as JSON text or as an object. Rows
// without it (heartbeats, partial reports) get no facing port. A malformed
// secondary key (say InternetFacingLastSeen) keeps the row when its port is
// good; anything worse is an error.
func (d *deviceDecoder) facing(v []byte, kind byte) (correlation.InternetFacing, error) {
	switch kind {
	case 0, jsonscan.KindNull:
		return correlation.InternetFacing{LocalPort: correlation.NoPort}, nil
	case jsonscan.KindObject, jsonscan.KindString:
		if kind == jsonscan.KindString { // JSON text in a string: unquote here, cheaper than encoding/json
			if s, ok := jsonscan.Unquote(v, d.afScratch[:0]); ok {
				v = s
				if cap(s) > cap(d.afScratch) {
					d.afScratch = s[:0]
				}
			}
		}
		f, err := correlation.ParseInternetFacing(v)
		if err != nil && errors.Is(err, correlation.ErrFacingField) && !errors.Is(err, correlation.ErrAdditionalFields) && f.HasPort() {
			err = nil
		}
		return f, err
	default:
		return correlation.InternetFacing{LocalPort: correlation.NoPort}, jsonscan.ErrSyntax
	}
}

func (d *deviceDecoder) str(v []byte, kind byte) string {
	t, st := scalarText(v, kind, d.scratch[:0])
	if st != fieldOK {
		return ""
	}
	return string(t)
}

// batch decodes the records of an Event Hub batch.
func (d *deviceDecoder) batch(b, records []byte, off, line, depth int) {
	eachRecord(b, records, off, line,
		func(rec []byte, l int) { d.row(rec, l, nil, depth+1) },
		func(reason string, l int) {
			d.rep.Read++
			d.skip(reason, l)
		})
}
