package correlation

import (
	"encoding/json"
	"net/netip"
	"time"

	"github.com/edgewatch/edgewatch/plugin/wire"
)

// ActionInboundAccepted is the DeviceNetworkEvents ActionType the detection
// keys on: the device accepted a connection that another host started.
const ActionInboundAccepted = "InboundConnectionAccepted"

// NoPort marks a port that is absent or did not parse.
const NoPort = -1

// Location names where a row came from, for error reports: a file and line
// for file sources, an index and document id for clusters. It is declared
// once, in its wire form, because run summaries carry it to the host.
type Location = wire.Location

// NetworkEvent is one DeviceNetworkEvents row, normalised from whatever field
// profile it was stored in. Fields that the row lacks are zero; ports that are
// absent or malformed are NoPort, addresses that do not parse are invalid
// netip.Addr values with the text kept in the *Raw field.
type NetworkEvent struct {
	Time       time.Time
	DeviceID   string
	DeviceName string
	ActionType string

	RemoteIP    netip.Addr // the peer; for inbound events the connecting client
	RemoteIPRaw string
	RemotePort  int
	LocalIP     netip.Addr // the listener's address on the device
	LocalIPRaw  string
	LocalPort   int
	Protocol    string

	ReportID string // Defender ReportId, as text (it is a long in AH, a keyword in Elastic)

	Process Process

	// Raw is the record as read, one complete JSON object: from a file, its
	// exact bytes (a whole Streaming API record, envelope included; an
	// Event Hub batch member; the row) or, for CSV, a compact object of the
	// row's cells; from a cluster, the document's _source (or its Row
	// path). Never re-encoded, so it may hold invalid UTF-8 when the input
	// did. It is copied into the alert under defender.network_event.
	Raw json.RawMessage

	Loc Location
}

// Process is the initiating process of a network event.
type Process struct {
	FileName    string
	FolderPath  string
	CommandLine string
	PID         int64
	SHA1        string
	SHA256      string
	MD5         string
	AccountName string
	AccountDom  string
	ParentName  string
	ParentPID   int64
}

// DeviceInfo is one DeviceInfo row, normalised. Facing carries the parsed
// internet-facing keys of AdditionalFields; HasFacingPort is false for rows
// without an InternetFacingLocalPort (heartbeats, partial reports), which never
// match.
type DeviceInfo struct {
	Time             time.Time
	DeviceID         string
	DeviceName       string
	IsInternetFacing bool
	PublicIP         string
	OSPlatform       string
	MachineGroup     string
	Facing           InternetFacing
	Loc              Location
}

// InternetFacing is the parsed internet-facing part of DeviceInfo's
// AdditionalFields. LocalPort is NoPort when the key is absent or malformed.
type InternetFacing struct {
	Reason            string    `json:"reason,omitempty"`
	LocalIP           string    `json:"local_ip,omitempty"`
	LocalPort         int       `json:"local_port"`
	PublicScannedIP   string    `json:"public_scanned_ip,omitempty"`
	PublicScannedPort int       `json:"public_scanned_port,omitempty"`
	TransportProtocol string    `json:"transport_protocol,omitempty"`
	LastSeen          time.Time `json:"last_seen,omitzero"`
}

// HasPort reports whether the row names an internet-facing local port.
func (f InternetFacing) HasPort() bool {
	return f.LocalPort >= 0 && f.LocalPort <= 65535 && f.LocalPort != NoPort
}
