package file

import (
	"errors"
	"time"

	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/correlation"
)

// deviceDecoder turns rows into DeviceInfo values. DeviceInfo tables are
// small next to DeviceNetworkEvents, so every row is decoded in full.
type deviceDecoder struct {
	rowCounter
	from, to  time.Time
	out       []correlation.DeviceInfo
	scratch   []byte
	kbuf      []byte // escaped keys, decoded
	afScratch []byte // unquoted AdditionalFields
}

func newDeviceDecoder(from, to time.Time, src string) *deviceDecoder {
	return &deviceDecoder{rowCounter: rowCounter{src: src, want: deviceInfoTable}, from: from, to: to}
}

// deviceFields holds the raw values of a DeviceInfo row's columns, indexed
// by field (fDeviceId..fAdditionalFields).
type deviceFields struct {
	val  [numFields][]byte
	kind [numFields]byte
}

func (f *deviceFields) get(i int) ([]byte, byte) { return f.val[i], f.kind[i] }

// row decodes one DeviceInfo row (flat, Sentinel, Streaming API record or
// Event Hub batch; see eventDecoder.row).
func (d *deviceDecoder) row(raw []byte, c rowCtx) {
	b, ok := d.objectRow(raw, c.line, c.depth)
	if !ok {
		return
	}
	var (
		sh   shape
		vals deviceFields
	)
	if !d.decode(b, &sh, &vals) {
		d.skipRow(reasonBadJSON, c.line)
		return
	}
	isRow := vals.val[fDeviceId] != nil || vals.val[fIsInternetFacing] != nil
	if (!isRow || sh.val[fType] != nil) && d.elsewhere(b, &sh, isRow, c, d.row) {
		return
	}
	di, ok, reason := d.deviceInfo(&sh, &vals, c)
	switch {
	case reason != "":
		d.skipRow(reason, c.line)
	case !ok:
		d.filtered()
	default:
		d.out = append(d.out, di)
		d.passed()
	}
}

// decode reads the members of b into sh and vals; false for malformed JSON.
func (d *deviceDecoder) decode(b []byte, sh *shape, vals *deviceFields) bool {
	it := jsonscan.NewObjIter(b)
	for it.Next() {
		f := fieldOf(it.Key)
		if it.KeyEsc {
			f = escapedField(it.Key, &d.kbuf)
		}
		if isShape(f) {
			sh.take(f, &it)
			continue
		}
		if f == fNone || vals.val[f] != nil {
			continue
		}
		vals.val[f], vals.kind[f] = it.Val, it.Kind
	}
	return it.Rest() == nil
}

// deviceInfo converts a row's values: a skip reason when it is unusable,
// ok false when it is outside the window.
func (d *deviceDecoder) deviceInfo(sh *shape, vals *deviceFields, c rowCtx) (di correlation.DeviceInfo, ok bool, reason string) {
	if v, k := vals.get(fDeviceId); k == jsonscan.KindString {
		di.DeviceID = d.str(v, k)
	}
	if di.DeviceID == "" {
		return di, false, reasonMissingDevice
	}
	t, reason := sh.time(c.envTime, d.scratch[:0])
	if reason != "" {
		return di, false, reason
	}
	if !inWindow(t, d.from, d.to) {
		return di, false, ""
	}
	di.Time = t
	di.DeviceName = d.str(vals.get(fDeviceName))
	di.PublicIP = d.str(vals.get(fPublicIP))
	di.OSPlatform = d.str(vals.get(fOSPlatform))
	di.MachineGroup = d.str(vals.get(fMachineGroup))
	di.IsInternetFacing, _ = parseBool(vals.get(fIsInternetFacing))
	facing, err := d.facing(vals.get(fAdditionalFields))
	if err != nil {
		return di, false, reasonBadAdditional
	}
	di.Facing = facing
	di.Loc = correlation.Location{Source: d.src, Line: c.line}
	return di, true, ""
}

// facing parses AdditionalFields given as JSON text, as an object, or as an
// empty array (what some exports write for "no fields"). Rows without it
// (heartbeats, partial reports) get no facing port. A malformed secondary
// key (say InternetFacingLastSeen) keeps the row when its port is good;
// anything worse is an error.
func (d *deviceDecoder) facing(v []byte, kind byte) (correlation.InternetFacing, error) {
	switch kind {
	case 0, jsonscan.KindNull:
		return correlation.InternetFacing{LocalPort: correlation.NoPort}, nil
	case jsonscan.KindObject, jsonscan.KindString, jsonscan.KindArray:
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
	return str(v, kind, d.scratch[:0])
}
