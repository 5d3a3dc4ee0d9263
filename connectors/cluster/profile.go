package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/buger/jsonparser"

	"github.com/edgewatch/edgewatch/correlation"
)

// Logical field names: the keys of a profile's field map and of
// SourceConfig.ProfileFields. They are the Advanced Hunting column names.
const (
	FieldTime             = "Time"
	FieldDeviceID         = "DeviceId"
	FieldDeviceName       = "DeviceName"
	FieldActionType       = "ActionType"
	FieldRemoteIP         = "RemoteIP"
	FieldRemotePort       = "RemotePort"
	FieldLocalIP          = "LocalIP"
	FieldLocalPort        = "LocalPort"
	FieldProtocol         = "Protocol"
	FieldReportID         = "ReportId"
	FieldIsInternetFacing = "IsInternetFacing"
	FieldAdditionalFields = "AdditionalFields"
	FieldPublicIP         = "PublicIP"
	FieldOSPlatform       = "OSPlatform"
	FieldMachineGroup     = "MachineGroup"

	// The internet-facing keys, when a store keeps them as fields of their
	// own rather than inside AdditionalFields (custom profiles). Unset, they
	// are read from AdditionalFields.
	FieldFacingReason     = correlation.KeyFacingReason
	FieldFacingLocalIP    = correlation.KeyFacingLocalIP
	FieldFacingLocalPort  = correlation.KeyFacingLocalPort
	FieldFacingScannedIP  = correlation.KeyFacingPublicScannedIP
	FieldFacingScannedPrt = correlation.KeyFacingPublicScannedPort
	FieldFacingTransport  = correlation.KeyFacingTransport
	FieldFacingLastSeen   = correlation.KeyFacingLastSeen

	FieldProcFileName    = "InitiatingProcessFileName"
	FieldProcFolderPath  = "InitiatingProcessFolderPath"
	FieldProcCommandLine = "InitiatingProcessCommandLine"
	FieldProcID          = "InitiatingProcessId"
	FieldProcSHA1        = "InitiatingProcessSHA1"
	FieldProcSHA256      = "InitiatingProcessSHA256"
	FieldProcMD5         = "InitiatingProcessMD5"
	FieldProcAccountName = "InitiatingProcessAccountName"
	FieldProcAccountDom  = "InitiatingProcessAccountDomain"
	FieldProcParentName  = "InitiatingProcessParentFileName"
	FieldProcParentID    = "InitiatingProcessParentId"

	// Two settings that are not document paths.
	//
	// KeyRow is the path of the Advanced Hunting row inside _source ("" =
	// the whole _source); it becomes NetworkEvent.Raw.
	KeyRow = "Row"
	// KeyInboundAction is the stored value of InboundConnectionAccepted.
	KeyInboundAction = "InboundActionValue"
	// KeyTable is the path of the table marker (Profile.Table); "" turns
	// the built-in one off.
	KeyTable = "Table"
)

// Defender tables, as table markers name them ("DeviceInfo", or with the
// Streaming API's prefix "AdvancedHunting-DeviceInfo").
const (
	TableDeviceInfo    = "DeviceInfo"
	TableNetworkEvents = "DeviceNetworkEvents"
	tablePrefix        = "AdvancedHunting-"
)

// tableValues are the marker values of a table, as written and lower-cased
// (a keyword compares exactly; decoding ignores the case).
func tableValues(table string) []any {
	return []any{table, tablePrefix + table, strings.ToLower(table), strings.ToLower(tablePrefix + table)}
}

// isTable reports whether a marker value names table (any letter case).
func isTable(v, table string) bool {
	return strings.EqualFold(v, table) || strings.EqualFold(v, tablePrefix+table)
}

// The built-in profile names.
const (
	ProfileAdvancedHunting = "advanced-hunting"
	ProfileSentinel        = "sentinel"
	ProfileStreaming       = "streaming"
	ProfileElasticM365     = "elastic-m365"
	ProfileCustom          = "custom"
)

// Profiles lists the profile names NewProfile accepts.
var Profiles = []string{ProfileAdvancedHunting, ProfileSentinel, ProfileStreaming, ProfileElasticM365, ProfileCustom}

// ahColumns are the logical fields whose Advanced Hunting column name is the
// logical name itself.
var ahColumns = []string{
	FieldDeviceID, FieldDeviceName, FieldActionType, FieldRemoteIP, FieldRemotePort,
	FieldLocalIP, FieldLocalPort, FieldProtocol, FieldReportID, FieldIsInternetFacing,
	FieldAdditionalFields, FieldPublicIP, FieldOSPlatform, FieldMachineGroup,
	FieldProcFileName, FieldProcFolderPath, FieldProcCommandLine, FieldProcID,
	FieldProcSHA1, FieldProcSHA256, FieldProcMD5, FieldProcAccountName, FieldProcAccountDom,
	FieldProcParentName, FieldProcParentID,
}

// facingKeyFields are the optional per-key facing fields.
var facingKeyFields = []string{
	FieldFacingReason, FieldFacingLocalIP, FieldFacingLocalPort, FieldFacingScannedIP,
	FieldFacingScannedPrt, FieldFacingTransport, FieldFacingLastSeen,
}

// Cond is a "field equals value" test on a document.
type Cond struct {
	Field, Value string
}

// Arrangement says where an inbound event keeps its peers. Most stores keep
// one arrangement (RemoteIP is RemoteIP); Elastic's m365_defender pipeline
// keeps two, told apart by the event's network direction.
type Arrangement struct {
	Name string
	// When, if set, must hold; Unless, if set, must not hold.
	When, Unless *Cond
	RemoteIP     string
	RemotePort   []string // first present wins
	LocalIP      string
	LocalPort    []string // first present wins; the query accepts any
}

func (a *Arrangement) applies(d *docView) bool {
	if a.When != nil && d.str(a.When.Field) != a.When.Value {
		return false
	}
	if a.Unless != nil && d.str(a.Unless.Field) == a.Unless.Value {
		return false
	}
	return true
}

// Profile maps the logical Defender fields to document paths for one way of
// storing Defender data, and decodes hits into correlation rows.
type Profile struct {
	Name string
	// Fields maps logical fields (Field* constants) to dotted document paths.
	Fields map[string]string
	// Row is the path of the Advanced Hunting row inside _source; "" means
	// the whole _source is the row.
	Row string
	// InboundAction is the stored ActionType value of
	// InboundConnectionAccepted.
	InboundAction string
	// Table, if set, is the path of the row's table marker, for an index
	// shared by several Defender tables (Elastic keeps every table in one
	// data stream; an Event Hub or Log Analytics export may too): the
	// Streaming API's category ("AdvancedHunting-DeviceInfo"), Sentinel's
	// Type ("DeviceInfo"), Elastic's m365_defender.event.category. Rows
	// whose marker names another table are never read; rows without one
	// are read as before.
	Table string
	// Arrangements of inbound events; decoding uses the first that applies,
	// the pushed-down query accepts any.
	Arrangements []Arrangement
}

// NewProfile returns the named built-in profile with overrides applied.
// Every key of overrides must be a logical field name (Field* constants),
// KeyRow or KeyInboundAction. The custom profile starts from the Advanced
// Hunting column names, so it only needs the fields that differ.
func NewProfile(name string, overrides map[string]string) (*Profile, error) {
	var p *Profile
	switch name {
	case ProfileAdvancedHunting, "":
		p = flatProfile(ProfileAdvancedHunting, "", "Timestamp")
	case ProfileSentinel:
		p = flatProfile(ProfileSentinel, "", "TimeGenerated")
		p.Table = "Type"
	case ProfileStreaming:
		p = flatProfile(ProfileStreaming, "properties", "Timestamp")
		p.Table = "category"
	case ProfileElasticM365:
		p = elasticM365Profile()
	case ProfileCustom:
		p = flatProfile(ProfileCustom, "", "Timestamp")
	default:
		return nil, fmt.Errorf("unknown field profile %q (want one of %s)", name, strings.Join(Profiles, ", "))
	}
	if name == ProfileCustom && len(overrides) == 0 {
		return nil, errors.New("custom field profile: no profile fields configured")
	}
	if err := p.override(overrides); err != nil {
		return nil, fmt.Errorf("field profile %s: %w", p.Name, err)
	}
	return p, nil
}

// flatProfile is the Advanced Hunting column layout under prefix.
func flatProfile(name, prefix, timeCol string) *Profile {
	at := func(col string) string {
		if prefix == "" {
			return col
		}
		return prefix + "." + col
	}
	f := map[string]string{FieldTime: at(timeCol)}
	for _, c := range ahColumns {
		f[c] = at(c)
	}
	p := &Profile{Name: name, Fields: f, Row: prefix, InboundAction: correlation.ActionInboundAccepted}
	p.Arrangements = []Arrangement{p.defaultArrangement()}
	return p
}

func (p *Profile) defaultArrangement() Arrangement {
	return Arrangement{
		Name:       "default",
		RemoteIP:   p.Fields[FieldRemoteIP],
		RemotePort: []string{p.Fields[FieldRemotePort]},
		LocalIP:    p.Fields[FieldLocalIP],
		LocalPort:  []string{p.Fields[FieldLocalPort]},
	}
}

// Elastic m365_defender paths.
const (
	m365Direction = "m365_defender.event.network_direction"
	m365Category  = "m365_defender.event.category"
)

// elasticM365Profile is Elastic's m365_defender integration (data stream
// logs-m365_defender.event-*) with its default settings: ECS fields, the
// duplicates under m365_defender.event.* removed, event.action lower-cased,
// AdditionalFields flattened under m365_defender.event.additional_fields.
//
// The source/destination swap: the pipeline fills source/destination from
// AdditionalFields.direction (moved to m365_defender.event.network_direction).
// InboundConnectionAccepted normally carries no direction, so the "no
// direction" branch applies: source = the LOCAL end (source.ip = LocalIP,
// source.port = LocalPort) and destination = the REMOTE peer
// (destination.ip = RemoteIP, destination.port = RemotePort). Only with
// direction "In" is it swapped: source.ip = RemoteIP, destination.ip =
// LocalIP, destination.port = LocalPort, and source.port is then LocalPort
// too, because the pipeline overwrites source.port with LocalPort for every
// network event (the remote port is lost unless the deployment keeps the
// m365_defender.event.remote.* duplicates).
func elasticM365Profile() *Profile {
	f := map[string]string{
		FieldTime:             "@timestamp",
		FieldDeviceID:         "host.id",
		FieldDeviceName:       "host.name",
		FieldActionType:       "event.action",
		FieldRemoteIP:         "destination.ip",
		FieldRemotePort:       "destination.port",
		FieldLocalIP:          "source.ip",
		FieldLocalPort:        "source.port",
		FieldProtocol:         "network.protocol",
		FieldReportID:         "m365_defender.event.report_id",
		FieldIsInternetFacing: "m365_defender.event.is_internet_facing",
		FieldAdditionalFields: "m365_defender.event.additional_fields",
		FieldPublicIP:         "host.ip",
		FieldOSPlatform:       "host.os.full",
		FieldMachineGroup:     "m365_defender.event.machine_group",
		FieldProcFileName:     "process.name",
		FieldProcFolderPath:   "process.executable",
		FieldProcCommandLine:  "process.command_line",
		FieldProcID:           "process.pid",
		FieldProcSHA1:         "process.hash.sha1",
		FieldProcSHA256:       "process.hash.sha256",
		FieldProcMD5:          "process.hash.md5",
		FieldProcAccountName:  "m365_defender.event.initiating_process.account_name",
		FieldProcAccountDom:   "m365_defender.event.initiating_process.account_domain",
		FieldProcParentName:   "process.parent.name",
		FieldProcParentID:     "process.parent.pid",
	}
	in := &Cond{Field: m365Direction, Value: "In"}
	return &Profile{
		Name:          ProfileElasticM365,
		Fields:        f,
		InboundAction: strings.ToLower(correlation.ActionInboundAccepted),
		Table:         m365Category,
		Arrangements: []Arrangement{
			{
				Name:       "direction-in",
				When:       in,
				RemoteIP:   "source.ip",
				RemotePort: []string{"m365_defender.event.remote.port"},
				LocalIP:    "destination.ip",
				LocalPort:  []string{"destination.port", "source.port"},
			},
			{
				Name:       "no-direction",
				Unless:     in,
				RemoteIP:   "destination.ip",
				RemotePort: []string{"destination.port"},
				LocalIP:    "source.ip",
				LocalPort:  []string{"source.port"},
			},
		},
	}
}

func (p *Profile) override(o map[string]string) error {
	if len(o) == 0 {
		return nil
	}
	known := map[string]bool{FieldTime: true, KeyRow: true, KeyInboundAction: true, KeyTable: true}
	for _, c := range ahColumns {
		known[c] = true
	}
	for _, c := range facingKeyFields {
		known[c] = true
	}
	var unknown []string
	peersChanged := false
	for k, v := range o {
		switch {
		case !known[k]:
			unknown = append(unknown, k)
		case k == KeyRow:
			p.Row = v
		case k == KeyInboundAction:
			p.InboundAction = v
		case k == KeyTable:
			p.Table = v
		default:
			p.Fields[k] = v
			switch k {
			case FieldRemoteIP, FieldRemotePort, FieldLocalIP, FieldLocalPort:
				peersChanged = true
			}
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown profile fields %s", strings.Join(unknown, ", "))
	}
	if p.InboundAction == "" {
		return errors.New("empty " + KeyInboundAction)
	}
	for _, k := range []string{FieldTime, FieldDeviceID, FieldActionType, FieldRemoteIP, FieldLocalPort} {
		if p.Fields[k] == "" {
			return fmt.Errorf("field %s must not be empty", k)
		}
	}
	if peersChanged {
		// Explicit peer fields replace any built-in arrangement.
		p.Arrangements = []Arrangement{p.defaultArrangement()}
	}
	return nil
}

// field returns the document path of a logical field ("" when unset).
func (p *Profile) field(logical string) string { return p.Fields[logical] }

// facingPortField is the path queried for "has an internet-facing port":
// the per-key field when configured, else the key inside AdditionalFields
// (an object in Sentinel and Elastic, a text blob in Advanced Hunting).
func (p *Profile) facingPortField() string {
	if f := p.Fields[FieldFacingLocalPort]; f != "" {
		return f
	}
	if af := p.Fields[FieldAdditionalFields]; af != "" {
		return af + "." + correlation.KeyFacingLocalPort
	}
	return ""
}

// deviceInfoPaths are the _source paths the facing step needs.
func (p *Profile) deviceInfoPaths() []string {
	keys := []string{FieldTime, FieldDeviceID, FieldDeviceName, FieldIsInternetFacing,
		FieldAdditionalFields, FieldPublicIP, FieldOSPlatform, FieldMachineGroup}
	keys = append(keys, facingKeyFields...)
	var out []string
	for _, k := range keys {
		if f := p.Fields[k]; f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// eventSourceFilter is the _source filter of the event step: the whole row
// (alerts carry it verbatim) plus every mapped path outside it.
func (p *Profile) eventSourceFilter() any {
	if p.Row == "" {
		return true
	}
	inc := []string{p.Row}
	add := func(f string) {
		if f == "" || f == p.Row || strings.HasPrefix(f, p.Row+".") || slices.Contains(inc, f) {
			return
		}
		inc = append(inc, f)
	}
	for _, f := range p.Fields {
		add(f)
	}
	for _, a := range p.Arrangements {
		add(a.RemoteIP)
		add(a.LocalIP)
		for _, f := range a.RemotePort {
			add(f)
		}
		for _, f := range a.LocalPort {
			add(f)
		}
		for _, c := range []*Cond{a.When, a.Unless} {
			if c != nil {
				add(c.Field)
			}
		}
	}
	sort.Strings(inc[1:])
	return map[string]any{"includes": inc}
}

// Skip reasons of the cluster source: the file connector's words where the
// meaning is the same.
const (
	SkipBadDocument         = "bad JSON"
	SkipBadTime             = "bad time"
	SkipMissingTime         = "missing time"
	SkipMissingDeviceID     = "missing DeviceId"
	SkipBadAdditionalFields = "bad AdditionalFields"
)

// decodeError is a row the profile cannot use; Reason is its Report key.
type decodeError struct {
	Reason string
	Err    error
}

func (e *decodeError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}
func (e *decodeError) Unwrap() error { return e.Err }

func badRow(reason string, err error) error { return &decodeError{Reason: reason, Err: err} }

// OtherTableError is a row whose table marker names another table: not a
// bad row, just not one of this read's (it is neither passed on nor counted
// as skipped).
type OtherTableError struct{ Table string }

func (e *OtherTableError) Error() string { return "a row of table " + e.Table }

// otherTable returns an *OtherTableError when d's table marker names a
// table other than table.
func (p *Profile) otherTable(d *docView, table string) error {
	if p.Table == "" {
		return nil
	}
	if v := d.str(p.Table); v != "" && !isTable(v, table) {
		return &OtherTableError{Table: strings.TrimPrefix(v, tablePrefix)}
	}
	return nil
}

// DecodeDeviceInfo fills row from one DeviceInfo searchHit's _source.
func (p *Profile) DecodeDeviceInfo(src json.RawMessage, row *correlation.DeviceInfo) error {
	d, err := newDocView(src)
	if err != nil {
		return badRow(SkipBadDocument, err)
	}
	return p.decodeDeviceInfo(d, row)
}

func (p *Profile) decodeDeviceInfo(d *docView, row *correlation.DeviceInfo) error {
	*row = correlation.DeviceInfo{}
	if err := p.otherTable(d, TableDeviceInfo); err != nil {
		return err
	}
	var err error
	if row.Time, row.DeviceID, row.DeviceName, err = p.rowIdentity(d); err != nil {
		return err
	}
	row.IsInternetFacing = d.boolean(p.field(FieldIsInternetFacing))
	row.PublicIP = d.str(p.field(FieldPublicIP))
	row.OSPlatform = d.str(p.field(FieldOSPlatform))
	row.MachineGroup = d.str(p.field(FieldMachineGroup))

	row.Facing = correlation.InternetFacing{LocalPort: correlation.NoPort}
	if af := p.field(FieldAdditionalFields); af != "" {
		if v, ok := d.get(af); ok {
			f, err := correlation.ParseInternetFacing(unquoteObject(v))
			// A malformed secondary key (say InternetFacingLastSeen)
			// keeps the row when its port is good; anything worse skips
			// it, as the file connector does.
			if err != nil && (errors.Is(err, correlation.ErrAdditionalFields) || !f.HasPort()) {
				return badRow(SkipBadAdditionalFields, err)
			}
			row.Facing = f
		}
	}
	p.facingKeyOverrides(d, &row.Facing)
	return nil
}

// facingKeyOverrides reads per-key facing fields of custom profiles.
func (p *Profile) facingKeyOverrides(d *docView, f *correlation.InternetFacing) {
	if k := p.field(FieldFacingLocalPort); k != "" {
		f.LocalPort = d.port(k)
	}
	if k := p.field(FieldFacingReason); k != "" {
		f.Reason = d.str(k)
	}
	if k := p.field(FieldFacingLocalIP); k != "" {
		f.LocalIP = d.str(k)
	}
	if k := p.field(FieldFacingScannedIP); k != "" {
		f.PublicScannedIP = d.str(k)
	}
	if k := p.field(FieldFacingScannedPrt); k != "" {
		if port := d.port(k); port != correlation.NoPort {
			f.PublicScannedPort = port
		}
	}
	if k := p.field(FieldFacingTransport); k != "" {
		f.TransportProtocol = d.str(k)
	}
	if k := p.field(FieldFacingLastSeen); k != "" {
		if t, ok, err := d.timeAt(k); ok && err == nil {
			f.LastSeen = t
		}
	}
}

// rowIdentity reads what every row needs: its time and DeviceId (a row
// without either is skipped, with the reason) and its DeviceName.
func (p *Profile) rowIdentity(d *docView) (t time.Time, deviceID, deviceName string, err error) {
	t, ok, err := d.timeAt(p.field(FieldTime))
	switch {
	case err != nil:
		return t, "", "", badRow(SkipBadTime, err)
	case !ok:
		return t, "", "", badRow(SkipMissingTime, nil)
	}
	deviceID = d.str(p.field(FieldDeviceID))
	if deviceID == "" {
		return t, "", "", badRow(SkipMissingDeviceID, nil)
	}
	return t, deviceID, d.str(p.field(FieldDeviceName)), nil
}

// DecodeNetworkEvent fills ev from one DeviceNetworkEvents searchHit's _source.
// ev.Raw is the Advanced Hunting row (the whole _source, or the Row path).
func (p *Profile) DecodeNetworkEvent(src json.RawMessage, ev *correlation.NetworkEvent) error {
	d, err := newDocView(src)
	if err != nil {
		return badRow(SkipBadDocument, err)
	}
	return p.decodeNetworkEvent(d, ev)
}

func (p *Profile) decodeNetworkEvent(d *docView, ev *correlation.NetworkEvent) error {
	*ev = correlation.NetworkEvent{}
	if err := p.otherTable(d, TableNetworkEvents); err != nil {
		return err
	}
	var err error
	if ev.Time, ev.DeviceID, ev.DeviceName, err = p.rowIdentity(d); err != nil {
		return err
	}
	ev.ActionType = d.str(p.field(FieldActionType))
	if ev.ActionType != correlation.ActionInboundAccepted && strings.EqualFold(ev.ActionType, p.InboundAction) {
		ev.ActionType = correlation.ActionInboundAccepted
	}
	ev.RemotePort, ev.LocalPort = correlation.NoPort, correlation.NoPort
	for i := range p.Arrangements {
		a := &p.Arrangements[i]
		if !a.applies(d) {
			continue
		}
		ev.RemoteIPRaw = d.str(a.RemoteIP)
		ev.LocalIPRaw = d.str(a.LocalIP)
		ev.RemotePort = firstPort(d, a.RemotePort)
		ev.LocalPort = firstPort(d, a.LocalPort)
		break
	}
	ev.RemoteIP = parseAddr(ev.RemoteIPRaw)
	ev.LocalIP = parseAddr(ev.LocalIPRaw)
	ev.Protocol = d.str(p.field(FieldProtocol))
	ev.ReportID = d.str(p.field(FieldReportID))
	ev.Process = correlation.Process{
		FileName:    d.str(p.field(FieldProcFileName)),
		FolderPath:  d.str(p.field(FieldProcFolderPath)),
		CommandLine: d.str(p.field(FieldProcCommandLine)),
		PID:         d.int64(p.field(FieldProcID)),
		SHA1:        d.str(p.field(FieldProcSHA1)),
		SHA256:      d.str(p.field(FieldProcSHA256)),
		MD5:         d.str(p.field(FieldProcMD5)),
		AccountName: d.str(p.field(FieldProcAccountName)),
		AccountDom:  d.str(p.field(FieldProcAccountDom)),
		ParentName:  d.str(p.field(FieldProcParentName)),
		ParentPID:   d.int64(p.field(FieldProcParentID)),
	}
	// A copy: the source is a slice of a whole search page.
	if raw, ok := d.get(p.Row); ok {
		ev.Raw = bytes.Clone(raw)
	} else {
		ev.Raw = bytes.Clone(d.root)
	}
	return nil
}

// unquoteObject peels one layer of string encoding off v when it holds
// object text (AdditionalFields as Advanced Hunting stores it), so that the
// object is not decoded twice; anything else comes back as it is.
func unquoteObject(v json.RawMessage) json.RawMessage {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	in := v[1 : len(v)-1]
	for _, c := range in {
		if c < 0x20 {
			return v // not a well-formed string: ParseInternetFacing says so
		}
	}
	if bytes.IndexByte(in, '\\') < 0 {
		if t := bytes.TrimSpace(in); len(t) > 0 && t[0] == '{' {
			return t
		}
		return v
	}
	u, err := jsonparser.Unescape(in, nil)
	if err != nil || !utf8.Valid(u) {
		return v
	}
	if t := bytes.TrimSpace(u); len(t) > 0 && t[0] == '{' {
		return t
	}
	return v
}

func firstPort(d *docView, paths []string) int {
	for _, f := range paths {
		if f == "" {
			continue
		}
		if _, ok := d.get(f); ok {
			return d.port(f)
		}
	}
	return correlation.NoPort
}

func parseAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}
	}
	return a
}
