package correlation

import (
	"strconv"
	"time"

	"github.com/edgewatch/edgewatch/internal/jsonenc"
)

// AppendJSON appends the alert's ECS document to dst and returns the
// extended slice. It writes the fixed alert shape directly, without
// reflection, and produces the bytes json.Marshal(a) produces (field order,
// omitempty rules, strings escaped as encoding/json escapes them: <, > and &
// as \u003c \u003e \u0026, U+2028 and U+2029 escaped, invalid UTF-8 as
// U+FFFD), with one deliberate difference: defender.network_event is
// a.Defender.NetworkEvent byte for byte, where json.Marshal would compact it
// and escape <, > and & inside it. NewAlert keeps the raw record there, so
// the document holds the row exactly as it was read. An empty NetworkEvent
// is written as null, as json.Marshal writes a nil json.RawMessage.
//
// Times are written with time.RFC3339Nano, as time.Time.MarshalJSON writes
// them; a time that RFC 3339 cannot hold (a year outside 0-9999), for which
// json.Marshal fails, is written as AppendFormat formats it.
func (a *Alert) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"@timestamp":`...)
	dst = appendTime(dst, a.Timestamp)

	e := &a.Event
	dst = append(dst, `,"event":{"kind":`...)
	dst = jsonenc.AppendString(dst, e.Kind)
	dst = append(dst, `,"category":`...)
	dst = appendStrings(dst, e.Category)
	dst = append(dst, `,"type":`...)
	dst = appendStrings(dst, e.Type)
	dst = append(dst, `,"action":`...)
	dst = jsonenc.AppendString(dst, e.Action)
	dst = append(dst, `,"id":`...)
	dst = jsonenc.AppendString(dst, e.ID)
	dst = append(dst, `,"created":`...)
	dst = appendTime(dst, e.Created)
	dst = append(dst, `,"severity":`...)
	dst = strconv.AppendInt(dst, int64(e.Severity), 10)
	dst = append(dst, `,"dataset":`...)
	dst = jsonenc.AppendString(dst, e.Dataset)
	dst = append(dst, `,"module":`...)
	dst = jsonenc.AppendString(dst, e.Module)
	dst = append(dst, `,"provider":`...)
	dst = jsonenc.AppendString(dst, e.Provider)
	dst = append(dst, `,"reason":`...)
	dst = jsonenc.AppendString(dst, e.Reason)

	r := &a.Rule
	dst = append(dst, `},"rule":{"id":`...)
	dst = jsonenc.AppendString(dst, r.ID)
	dst = append(dst, `,"name":`...)
	dst = jsonenc.AppendString(dst, r.Name)
	dst = append(dst, `,"version":`...)
	dst = jsonenc.AppendString(dst, r.Version)
	dst = append(dst, `,"ruleset":`...)
	dst = jsonenc.AppendString(dst, r.Ruleset)
	if r.Description != "" {
		dst = append(dst, `,"description":`...)
		dst = jsonenc.AppendString(dst, r.Description)
	}
	if r.Reference != "" {
		dst = append(dst, `,"reference":`...)
		dst = jsonenc.AppendString(dst, r.Reference)
	}

	dst = append(dst, `},"host":{"id":`...)
	dst = jsonenc.AppendString(dst, a.Host.ID)
	if a.Host.Name != "" {
		dst = append(dst, `,"name":`...)
		dst = jsonenc.AppendString(dst, a.Host.Name)
	}
	dst = append(dst, `},"source":`...)
	dst = appendEndpoint(dst, &a.Source)
	dst = append(dst, `,"destination":`...)
	dst = appendEndpoint(dst, &a.Dest)

	dst = append(dst, `,"network":{`...)
	if a.Network.Transport != "" {
		dst = append(dst, `"transport":`...)
		dst = jsonenc.AppendString(dst, a.Network.Transport)
		dst = append(dst, ',')
	}
	dst = append(dst, `"direction":`...)
	dst = jsonenc.AppendString(dst, a.Network.Direction)
	dst = append(dst, '}')

	if a.Process != nil {
		dst = append(dst, `,"process":`...)
		dst = appendProcess(dst, a.Process)
	}

	t := &a.Threat
	dst = append(dst, `,"threat":{`...)
	if t.Framework != "" {
		dst = append(dst, `"framework":`...)
		dst = jsonenc.AppendString(dst, t.Framework)
		dst = append(dst, ',')
	}
	dst = append(dst, `"indicator":`...)
	dst = appendIndicator(dst, &t.Indicator)
	dst = append(dst, `,"feed":{"name":`...)
	dst = jsonenc.AppendString(dst, t.Feed.Name)
	dst = append(dst, `},"enrichments":`...)
	if t.Enrichments == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range t.Enrichments {
			if i > 0 {
				dst = append(dst, ',')
			}
			en := &t.Enrichments[i]
			dst = append(dst, `{"indicator":`...)
			dst = appendIndicator(dst, &en.Indicator)
			dst = append(dst, `,"feed":{"name":`...)
			dst = jsonenc.AppendString(dst, en.Feed.Name)
			dst = append(dst, `},"matched":{"atomic":`...)
			dst = jsonenc.AppendString(dst, en.Matched.Atomic)
			dst = append(dst, `,"field":`...)
			dst = jsonenc.AppendString(dst, en.Matched.Field)
			dst = append(dst, `,"type":`...)
			dst = jsonenc.AppendString(dst, en.Matched.Type)
			dst = append(dst, `}}`...)
		}
		dst = append(dst, ']')
	}

	ew := &a.Edgewatch
	f := &ew.InternetFacing
	dst = append(dst, `},"edgewatch":{"internet_facing":{`...)
	if f.Reason != "" {
		dst = append(dst, `"reason":`...)
		dst = jsonenc.AppendString(dst, f.Reason)
		dst = append(dst, ',')
	}
	if f.LocalIP != "" {
		dst = append(dst, `"local_ip":`...)
		dst = jsonenc.AppendString(dst, f.LocalIP)
		dst = append(dst, ',')
	}
	dst = append(dst, `"local_port":`...)
	dst = strconv.AppendInt(dst, int64(f.LocalPort), 10)
	if f.PublicScannedIP != "" {
		dst = append(dst, `,"public_scanned_ip":`...)
		dst = jsonenc.AppendString(dst, f.PublicScannedIP)
	}
	if f.PublicScannedPort != 0 {
		dst = append(dst, `,"public_scanned_port":`...)
		dst = strconv.AppendInt(dst, int64(f.PublicScannedPort), 10)
	}
	if f.TransportProtocol != "" {
		dst = append(dst, `,"transport_protocol":`...)
		dst = jsonenc.AppendString(dst, f.TransportProtocol)
	}
	if !f.LastSeen.IsZero() {
		dst = append(dst, `,"last_seen":`...)
		dst = appendTime(dst, f.LastSeen)
	}
	dst = append(dst, `,"device_info_time":`...)
	dst = appendTime(dst, f.DeviceInfoTime)
	dst = append(dst, `},"indicator":{"value":`...)
	dst = jsonenc.AppendString(dst, ew.Indicator.Value)
	if ew.Indicator.Count != 0 {
		dst = append(dst, `,"count":`...)
		dst = strconv.AppendInt(dst, int64(ew.Indicator.Count), 10)
	}
	if ew.Indicator.Level != 0 {
		dst = append(dst, `,"level":`...)
		dst = strconv.AppendInt(dst, int64(ew.Indicator.Level), 10)
	}
	dst = append(dst, `},"severity":`...)
	dst = jsonenc.AppendString(dst, ew.Severity)
	if ew.RetroHunt {
		dst = append(dst, `,"retro_hunt":true`...)
	} else {
		dst = append(dst, `,"retro_hunt":false`...)
	}
	dst = append(dst, `,"finding_id_version":`...)
	dst = strconv.AppendInt(dst, int64(ew.FindingIDVersion), 10)
	if ew.RunID != "" {
		dst = append(dst, `,"run_id":`...)
		dst = jsonenc.AppendString(dst, ew.RunID)
	}
	if ew.GroupID != "" {
		dst = append(dst, `,"group_id":`...)
		dst = jsonenc.AppendString(dst, ew.GroupID)
	}
	if ew.Suppression != nil {
		dst = append(dst, `,"suppression":`...)
		dst = appendSuppression(dst, ew.Suppression)
	}

	dst = append(dst, `},"defender":{"network_event":`...)
	if len(a.Defender.NetworkEvent) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, a.Defender.NetworkEvent...)
	}
	dst = append(dst, `},"related":{"ip":`...)
	dst = appendStrings(dst, a.Related.IP)
	if len(a.Related.Hosts) > 0 {
		dst = append(dst, `,"hosts":`...)
		dst = appendStrings(dst, a.Related.Hosts)
	}
	dst = append(dst, `},"ecs":{"version":`...)
	dst = jsonenc.AppendString(dst, a.ECS.Version)
	return append(dst, `}}`...)
}

func appendSuppression(dst []byte, s *Suppression) []byte {
	dst = append(dst, `{"terms":`...)
	if s.Terms == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range s.Terms {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"field":`...)
			dst = jsonenc.AppendString(dst, s.Terms[i].Field)
			dst = append(dst, `,"value":`...)
			if v := s.Terms[i].Value; v == nil {
				dst = append(dst, "null"...)
			} else {
				dst = jsonenc.AppendString(dst, *v)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"start":`...)
	dst = appendTime(dst, s.Start)
	dst = append(dst, `,"end":`...)
	dst = appendTime(dst, s.End)
	dst = append(dst, `,"docs_count":`...)
	dst = strconv.AppendInt(dst, s.DocsCount, 10)
	dst = append(dst, `,"window_start":`...)
	dst = appendTime(dst, s.WindowStart)
	dst = append(dst, `,"window_end":`...)
	dst = appendTime(dst, s.WindowEnd)
	dst = append(dst, `,"first_event_id":`...)
	dst = jsonenc.AppendString(dst, s.FirstEventID)
	return append(dst, '}')
}

func appendEndpoint(dst []byte, e *Endpoint) []byte {
	dst = append(dst, '{')
	if e.IP != "" {
		dst = append(dst, `"ip":`...)
		dst = jsonenc.AppendString(dst, e.IP)
		if e.Port != 0 {
			dst = append(dst, ',')
		}
	}
	if e.Port != 0 {
		dst = append(dst, `"port":`...)
		dst = strconv.AppendInt(dst, int64(e.Port), 10)
	}
	return append(dst, '}')
}

func appendIndicator(dst []byte, t *ThreatIndicator) []byte {
	dst = append(dst, `{"ip":`...)
	dst = jsonenc.AppendString(dst, t.IP)
	dst = append(dst, `,"type":`...)
	dst = jsonenc.AppendString(dst, t.Type)
	dst = append(dst, `,"provider":`...)
	dst = jsonenc.AppendString(dst, t.Provider)
	if t.Description != "" {
		dst = append(dst, `,"description":`...)
		dst = jsonenc.AppendString(dst, t.Description)
	}
	if t.Confidence != "" {
		dst = append(dst, `,"confidence":`...)
		dst = jsonenc.AppendString(dst, t.Confidence)
	}
	return append(dst, '}')
}

func appendProcess(dst []byte, p *AlertProcess) []byte {
	o := objectWriter{dst: append(dst, '{')}
	o.str("name", p.Name)
	o.int("pid", p.PID)
	o.str("executable", p.Executable)
	o.str("command_line", p.CommandLine)
	if h := p.Hash; h != nil {
		o.key("hash")
		ho := objectWriter{dst: append(o.dst, '{')}
		ho.str("md5", h.MD5)
		ho.str("sha1", h.SHA1)
		ho.str("sha256", h.SHA256)
		o.dst = append(ho.dst, '}')
	}
	if pp := p.Parent; pp != nil {
		o.key("parent")
		po := objectWriter{dst: append(o.dst, '{')}
		po.str("name", pp.Name)
		po.int("pid", pp.PID)
		o.dst = append(po.dst, '}')
	}
	if u := p.User; u != nil {
		o.key("user")
		uo := objectWriter{dst: append(o.dst, '{')}
		uo.str("name", u.Name)
		uo.str("domain", u.Domain)
		o.dst = append(uo.dst, '}')
	}
	return append(o.dst, '}')
}

// objectWriter writes the members of an object whose members are all
// optional, placing the commas.
type objectWriter struct {
	dst  []byte
	some bool
}

func (o *objectWriter) key(k string) {
	if o.some {
		o.dst = append(o.dst, ',')
	}
	o.some = true
	o.dst = append(o.dst, '"')
	o.dst = append(o.dst, k...)
	o.dst = append(o.dst, '"', ':')
}

// str writes k: v unless v is empty (omitempty).
func (o *objectWriter) str(k, v string) {
	if v != "" {
		o.key(k)
		o.dst = jsonenc.AppendString(o.dst, v)
	}
}

// int writes k: v unless v is 0 (omitempty).
func (o *objectWriter) int(k string, v int64) {
	if v != 0 {
		o.key(k)
		o.dst = strconv.AppendInt(o.dst, v, 10)
	}
}

// appendStrings writes a []string as json.Marshal does: null when nil.
func appendStrings(dst []byte, v []string) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range v {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, s)
	}
	return append(dst, ']')
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}
