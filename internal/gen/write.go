package gen

import (
	"io"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"
)

// tsLayout is Defender's timestamp form: UTC with 7 fractional digits.
const tsLayout = "2006-01-02T15:04:05.0000000Z"

// encoder writes rows of one table in the configured format.
type encoder struct {
	cfg      *Config
	tenantID string
	category string // AdvancedHunting-<Table>
	table    string
	cols     []string
	out      io.Writer
	buf      []byte
	batch    int // records in the current Event Hub batch
	rows     int
}

const eventHubBatch = 50

func newEncoder(w *World, out io.Writer, table string, cols []string) *encoder {
	e := &encoder{cfg: &w.cfg, tenantID: w.tenantID, table: table, category: "AdvancedHunting-" + table, out: out}
	e.cols = cols
	if w.cfg.Format == FormatCSV {
		e.buf = appendCSVHeader(e.buf, cols)
	}
	return e
}

// write encodes r (whose event time is t) and, for streaming formats, wraps
// it in a Streaming API record.
func (e *encoder) write(r *row, t time.Time) error {
	e.rows++
	switch e.cfg.Format {
	case FormatCSV:
		e.buf = r.appendCSV(e.buf)
	case FormatStreaming:
		e.buf = e.appendRecord(e.buf, r, t)
		e.buf = append(e.buf, '\n')
	case FormatEventHub:
		if e.batch == 0 {
			e.buf = append(e.buf, `{"records":[`...)
		} else {
			e.buf = append(e.buf, ',')
		}
		e.buf = e.appendRecord(e.buf, r, t)
		e.batch++
		if e.batch == eventHubBatch {
			e.buf = append(e.buf, "]}\n"...)
			e.batch = 0
		}
	default:
		e.buf = r.appendJSON(e.buf)
		e.buf = append(e.buf, '\n')
	}
	return e.maybeFlush()
}

// writeLine writes a raw line (a malformed row).
func (e *encoder) writeLine(b []byte) error {
	e.rows++
	if e.cfg.Format == FormatEventHub && e.batch > 0 {
		e.buf = append(e.buf, "]}\n"...)
		e.batch = 0
	}
	e.buf = append(e.buf, b...)
	e.buf = append(e.buf, '\n')
	return e.maybeFlush()
}

func (e *encoder) appendRecord(dst []byte, r *row, t time.Time) []byte {
	dst = append(dst, `{"time":"`...)
	dst = t.Add(1500*time.Millisecond).AppendFormat(dst, tsLayout)
	dst = append(dst, `","tenantId":"`...)
	dst = append(dst, e.tenantID...)
	dst = append(dst, `","operationName":"Publish","category":"`...)
	dst = append(dst, e.category...)
	dst = append(dst, `","properties":`...)
	dst = r.appendJSON(dst)
	return append(dst, `,"Tenant":"DefaultTenant"}`...)
}

func (e *encoder) maybeFlush() error {
	if len(e.buf) < 256<<10 {
		return nil
	}
	return e.flush()
}

func (e *encoder) flush() error {
	_, err := e.out.Write(e.buf)
	e.buf = e.buf[:0]
	return err
}

func (e *encoder) close() error {
	if e.cfg.Format == FormatEventHub && e.batch > 0 {
		e.buf = append(e.buf, "]}\n"...)
		e.batch = 0
	}
	return e.flush()
}

// WriteDeviceInfo writes the DeviceInfo table and returns the row count:
// a first full report per facing port, then periodic reports and
// heartbeats (no AdditionalFields) in time order, then a last report for
// each port that stopped facing (IsInternetFacing false), so the latest row
// of such a pair always says so.
func (w *World) WriteDeviceInfo(out io.Writer) (int, error) {
	sentinel := w.cfg.Format == FormatSentinel
	cols := columnsFor(deviceColumns[:], sentinel)
	e := newEncoder(w, out, "DeviceInfo", cols)
	r := newRow(cols)
	rng := rand.New(rand.NewPCG(w.cfg.Seed, 3))
	begin := w.cfg.Start.Add(-3 * 24 * time.Hour)
	end := w.cfg.Start.Add(w.cfg.Span)
	reportID := int64(1000)

	var first, last int
	for _, i := range w.facing {
		first += len(w.devices[i].ports)
		for _, p := range w.devices[i].ports {
			if p.stopped {
				last++
			}
		}
	}
	middle := w.cfg.DeviceInfoRows - first - last
	if middle < 0 {
		middle = 0
	}
	total := first + middle + last
	step := end.Sub(begin) / time.Duration(total+1)
	t := begin
	tick := func() time.Time {
		t = t.Add(step)
		return t
	}

	// 1. Inventory: every facing port reported facing.
	for _, i := range w.facing {
		d := &w.devices[i]
		for pi := range d.ports {
			reportID++
			w.deviceRow(r, rng, d, &d.ports[pi], true, tick(), reportID, sentinel)
			if err := e.write(r, t); err != nil {
				return e.rows, err
			}
		}
	}
	// 2. Periodic full reports and heartbeats. A stopped port reports
	//    facing in the first half and not facing in the second.
	half := begin.Add(end.Sub(begin) / 2)
	for n := 0; n < middle; n++ {
		d := &w.devices[rng.IntN(len(w.devices))]
		if len(w.facing) > 0 && rng.Float64() < 0.5 {
			d = &w.devices[w.facing[rng.IntN(len(w.facing))]]
		}
		reportID++
		now := tick()
		if d.internetFacing && rng.Float64() < 0.6 {
			p := &d.ports[rng.IntN(len(d.ports))]
			facing := !p.stopped || now.Before(half)
			w.deviceRow(r, rng, d, p, facing, now, reportID, sentinel)
		} else {
			w.deviceRow(r, rng, d, nil, d.internetFacing, now, reportID, sentinel)
		}
		if err := e.write(r, now); err != nil {
			return e.rows, err
		}
	}
	// 3. The last word on stopped ports.
	for _, i := range w.facing {
		d := &w.devices[i]
		for pi := range d.ports {
			if !d.ports[pi].stopped {
				continue
			}
			reportID++
			w.deviceRow(r, rng, d, &d.ports[pi], false, tick(), reportID, sentinel)
			if err := e.write(r, t); err != nil {
				return e.rows, err
			}
		}
	}
	return e.rows, e.close()
}

// deviceRow fills one DeviceInfo row: a full report with the internet-facing
// AdditionalFields for port p, or (p == nil) a heartbeat without them.
func (w *World) deviceRow(r *row, rng *rand.Rand, d *device, p *facingPort, facing bool, t time.Time, reportID int64, sentinel bool) {
	r.reset()
	r.setStr(iTimestamp, t.Format(tsLayout))
	r.setStr(iDeviceId, d.id)
	r.setStr(iDeviceName, d.name)
	r.setStr(iClientVersion, "10.8760.26100.1234")
	r.setStr(iPublicIP, d.publicIP)
	r.setNum(iReportId, reportID)
	r.setStr(iSensorHealthState, "Active")
	r.setStr(iOnboardingStatus, "Onboarded")
	if sentinel {
		r.setStr(iTenantId, w.tenantID)
		r.setStr(iType, "DeviceInfo")
		r.setStr(iSourceSystem, "")
		r.kind[iSourceSystem] = vAbsent
	}
	if p == nil {
		// Heartbeat: few columns, sometimes IsInternetFacing.
		if rng.IntN(2) == 0 {
			r.setBool(iIsInternetFacing, facing)
		}
		return
	}
	r.setStr(iOSArchitecture, "64-bit")
	r.setStr(iOSPlatform, d.os)
	r.setNum(iOSBuild, 20348)
	r.setStr(iOSVersion, d.osVersion)
	r.setStr(iMachineGroup, d.group)
	r.setStr(iDeviceCategory, "Endpoint")
	r.setStr(iDeviceType, "Server")
	r.setStr(iExposureLevel, "Medium")
	r.setBool(iIsInternetFacing, facing)

	af := make([]byte, 0, 320)
	af = append(af, `{"InternetFacingLastSeen":"`...)
	af = t.Add(-time.Duration(rng.IntN(3600))*time.Second).AppendFormat(af, tsLayout)
	af = append(af, `","InternetFacingReason":"`...)
	if p.scan {
		af = append(af, `PublicScan","InternetFacingLocalIp":"`...)
	} else {
		af = append(af, `ExternalNetworkConnection","InternetFacingLocalIp":"`...)
	}
	af = append(af, d.localIP...)
	af = append(af, `","InternetFacingLocalPort":`...)
	if p.strPort {
		af = append(af, '"')
		af = strconv.AppendInt(af, int64(p.port), 10)
		af = append(af, '"')
	} else {
		af = strconv.AppendInt(af, int64(p.port), 10)
	}
	if p.scan {
		ipKey, portKey := `,"InternetFacingPublicScannedIp":"`, `","InternetFacingPublicScannedPort":`
		if p.seedKeys {
			ipKey, portKey = `,"InternetFacingScannedPublicIp":"`, `","InternetFacingScannedPublicPort":`
		}
		af = append(af, ipKey...)
		af = append(af, p.publicIP...)
		af = append(af, portKey...)
		af = strconv.AppendInt(af, int64(p.publicPrt), 10)
	}
	af = append(af, `,"InternetFacingTransportProtocol":"`...)
	af = append(af, p.protocol...)
	af = append(af, `"}`...)
	if sentinel {
		r.setRaw(iAdditionalFields, af)
	} else {
		r.setStr(iAdditionalFields, string(af))
	}
}

// process is an initiating process profile.
type process struct {
	file, folder, cmd, account, domain string
}

var outboundProcs = []process{
	{"msedge.exe", `c:\program files (x86)\microsoft\edge\application\msedge.exe`, `"msedge.exe" --type=utility`, "jdoe", "contoso"},
	{"chrome.exe", `c:\program files\google\chrome\application\chrome.exe`, `"chrome.exe"`, "asmith", "contoso"},
	{"svchost.exe", `c:\windows\system32\svchost.exe`, `svchost.exe -k NetworkService -p`, "network service", "nt authority"},
	{"MsSense.exe", `c:\program files\windows defender advanced threat protection\mssense.exe`, `"MsSense.exe"`, "system", "nt authority"},
	{"ms-teams.exe", `c:\program files\windowsapps\msteams\ms-teams.exe`, `"ms-teams.exe"`, "bwong", "contoso"},
	{"OneDrive.exe", `c:\users\jdoe\appdata\local\microsoft\onedrive\onedrive.exe`, `"OneDrive.exe" /background`, "jdoe", "contoso"},
}

// listener returns the process that accepts connections on port.
func listener(port int) process {
	switch port {
	case 3389:
		return process{"svchost.exe", `c:\windows\system32\svchost.exe`, `svchost.exe -k termsvcs -s TermService`, "network service", "nt authority"}
	case 22:
		return process{"sshd.exe", `c:\windows\system32\openssh\sshd.exe`, `sshd.exe`, "system", "nt authority"}
	case 25:
		return process{"EdgeTransport.exe", `c:\program files\microsoft\exchange server\v15\bin\edgetransport.exe`, `"EdgeTransport.exe"`, "network service", "nt authority"}
	case 1433:
		return process{"sqlservr.exe", `c:\program files\microsoft sql server\mssql16.mssqlserver\mssql\binn\sqlservr.exe`, `"sqlservr.exe" -sMSSQLSERVER`, "mssqlserver", "nt service"}
	case 21:
		return process{"svchost.exe", `c:\windows\system32\svchost.exe`, `svchost.exe -k apphost -s ftpsvc`, "system", "nt authority"}
	case 80, 443, 8443, 5985:
		return process{"System", "", "", "system", "nt authority"}
	}
	return process{"svchost.exe", `c:\windows\system32\svchost.exe`, `svchost.exe -k netsvcs -p`, "system", "nt authority"}
}

var inboundOtherPorts = []int{135, 139, 445, 5985, 8080, 3389, 22, 443, 80, 53, 161}

var outboundActions = []struct {
	name   string
	weight int
}{
	{"ConnectionSuccess", 60}, {"ConnectionFailed", 14}, {"ConnectionRequest", 8},
	{"ListeningConnectionCreated", 5}, {"DnsConnectionInspected", 5},
	{"SslConnectionInspected", 4}, {"HttpConnectionInspected", 3}, {"ConnectionAttempt", 1},
}

var outboundTotal = func() int {
	n := 0
	for _, a := range outboundActions {
		n += a.weight
	}
	return n
}()

var urls = []string{"login.microsoftonline.com", "www.bing.com", "update.googleapis.com", "winatp-gw-weu.microsoft.com", "graph.microsoft.com", ""}

// WriteNetworkEvents writes the DeviceNetworkEvents table and returns the
// number of rows written (duplicates and bad rows included). Events are in
// time order over [Start, Start+Span).
func (w *World) WriteNetworkEvents(out io.Writer) (int, error) {
	cfg := &w.cfg
	sentinel := cfg.Format == FormatSentinel
	cols := columnsFor(networkColumns[:], sentinel)
	e := newEncoder(w, out, "DeviceNetworkEvents", cols)
	r := newRow(cols)
	rng := rand.New(rand.NewPCG(cfg.Seed, 4))
	step := cfg.Span / time.Duration(max(cfg.Events, 1))
	badEvery := 0
	if cfg.BadRows > 0 {
		badEvery = max(cfg.Events/(cfg.BadRows+1), 1)
	}
	bad := 0
	var line []byte
	for i := 0; i < cfg.Events; i++ {
		t := cfg.Start.Add(time.Duration(i)*step + time.Duration(rng.Int64N(int64(max(step, 1)))))
		w.eventRow(r, rng, t, int64(i+1), sentinel)
		if badEvery > 0 && bad < cfg.BadRows && (i+1)%badEvery == 0 {
			line = w.badRow(line[:0], r, bad, t)
			bad++
			if err := e.writeLine(line); err != nil {
				return e.rows, err
			}
			continue
		}
		if err := e.write(r, t); err != nil {
			return e.rows, err
		}
		if rng.IntN(1000) == 0 { // a duplicate delivery of the same row
			if err := e.write(r, t); err != nil {
				return e.rows, err
			}
		}
	}
	return e.rows, e.close()
}

// badRow renders a malformed variant of r, cycling through the kinds of
// damage the reader must count: a truncated row, an unparsable RemoteIP, a
// non-numeric LocalPort, a missing DeviceId and a line that is not JSON.
// The row is made an inbound accept first so a filtering reader looks at it.
func (w *World) badRow(dst []byte, r *row, n int, t time.Time) []byte {
	r.setStr(nActionType, "InboundConnectionAccepted")
	if len(w.facing) > 0 {
		d := &w.devices[w.facing[n%len(w.facing)]]
		r.setStr(nDeviceId, d.id)
		r.setStr(nDeviceName, d.name)
		r.setNum(nLocalPort, int64(d.ports[0].port))
	}
	if len(w.feed) > 0 {
		r.setStr(nRemoteIP, w.feed[n%len(w.feed)].String())
	}
	csv := w.cfg.Format == FormatCSV
	switch n % 5 {
	case 0: // truncated
		if csv { // cut mid-row, closing any open quote so later rows stay intact
			dst = r.appendCSV(dst)
			dst = dst[:len(dst)/2]
			quotes := 0
			for _, c := range dst {
				if c == '"' {
					quotes++
				}
			}
			if quotes%2 == 1 {
				dst = append(dst, '"')
			}
			return dst
		}
		dst = r.appendJSON(dst)
		return dst[:len(dst)*2/3]
	case 1:
		r.setStr(nRemoteIP, "999.12.1.300")
	case 2:
		r.setStr(nLocalPort, "https")
	case 3:
		r.kind[nDeviceId] = vAbsent
	case 4:
		if csv {
			return append(dst, "502 Bad Gateway,proxy error"...)
		}
		return append(dst, "<html>502 Bad Gateway</html>"...)
	}
	if csv {
		dst = r.appendCSV(dst)
		return dst[:len(dst)-2] // writeLine adds the newline
	}
	if w.cfg.Format == FormatStreaming || w.cfg.Format == FormatEventHub {
		e := encoder{tenantID: w.tenantID, category: "AdvancedHunting-DeviceNetworkEvents"}
		return e.appendRecord(dst, r, t)
	}
	return r.appendJSON(dst)
}

// eventRow fills one DeviceNetworkEvents row.
func (w *World) eventRow(r *row, rng *rand.Rand, t time.Time, reportID int64, sentinel bool) {
	cfg := &w.cfg
	r.reset()
	if sentinel {
		r.setStr(nTenantId, w.tenantID)
		r.setStr(nType, "DeviceNetworkEvents")
	}
	r.setStr(nTimestamp, t.Format(tsLayout))

	inbound := rng.Float64() < cfg.InboundShare
	var d *device
	if inbound && len(w.facing) > 0 && rng.Float64() < 0.5 {
		d = &w.devices[w.facing[rng.IntN(len(w.facing))]]
	} else {
		d = &w.devices[rng.IntN(len(w.devices))]
	}
	r.setStr(nDeviceId, d.id)
	r.setStr(nDeviceName, d.name)

	// The remote: a feed address sometimes, a random public one mostly.
	var remote netip.Addr
	if rng.Float64() < cfg.FeedHitShare {
		remote = w.feed[rng.IntN(len(w.feed))]
	} else if rng.IntN(10) == 0 {
		remote = netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
	} else {
		remote = publicIPv4(rng)
	}
	remoteText := remote.String()
	if remote.Is4() && rng.IntN(20) == 0 {
		remoteText = "::ffff:" + remoteText // IPv4-mapped, as Defender writes some
	}
	strPorts := rng.IntN(100) == 0

	var proc process
	var localPort, remotePort int
	if inbound {
		r.setStr(nActionType, "InboundConnectionAccepted")
		if len(d.ports) > 0 && rng.Float64() < 0.7 {
			localPort = d.ports[rng.IntN(len(d.ports))].port
		} else {
			localPort = inboundOtherPorts[rng.IntN(len(inboundOtherPorts))]
		}
		remotePort = 1024 + rng.IntN(64511)
		proc = listener(localPort)
	} else {
		k := rng.IntN(outboundTotal)
		action := outboundActions[0].name
		for _, a := range outboundActions {
			if k < a.weight {
				action = a.name
				break
			}
			k -= a.weight
		}
		r.setStr(nActionType, action)
		localPort = 49152 + rng.IntN(16384)
		remotePort = []int{443, 443, 443, 80, 53, 8080}[rng.IntN(6)]
		proc = outboundProcs[rng.IntN(len(outboundProcs))]
		if u := urls[rng.IntN(len(urls))]; u != "" && remotePort != 53 {
			r.setStr(nRemoteUrl, u)
		}
	}
	r.setStr(nRemoteIP, remoteText)
	r.setStr(nLocalIP, d.localIP)
	if strPorts {
		r.setStr(nRemotePort, strconv.Itoa(remotePort))
		r.setStr(nLocalPort, strconv.Itoa(localPort))
	} else {
		r.setNum(nRemotePort, int64(remotePort))
		r.setNum(nLocalPort, int64(localPort))
	}
	r.setStr(nProtocol, "Tcp")
	r.setStr(nFileName, proc.file)
	pid := int64(4 + rng.IntN(20000)*4)
	r.setNum(nPID, pid)
	if proc.folder != "" {
		r.setStr(nFolderPath, proc.folder)
	}
	r.setNum(nReportId, reportID)

	if cfg.Columns != ColumnsFull {
		return
	}
	if remote.IsPrivate() {
		r.setStr(nRemoteIPType, "Private")
	} else {
		r.setStr(nRemoteIPType, "Public")
	}
	r.setStr(nAccountName, proc.account)
	r.setStr(nLocalIPType, "Private")
	r.setStr(nSHA1, hexString(rng, 40))
	r.setStr(nSHA256, hexString(rng, 64))
	r.setStr(nMD5, hexString(rng, 32))
	r.setNum(nFileSize, int64(50000+rng.IntN(5_000_000)))
	r.setStr(nVerCompany, "Microsoft Corporation")
	r.setStr(nVerProduct, "Microsoft® Windows® Operating System")
	r.setStr(nVerProductVersion, "10.0.20348.1")
	r.setStr(nVerInternalName, proc.file)
	r.setStr(nVerOriginalName, proc.file)
	r.setStr(nVerDescription, "Host Process")
	r.setStr(nCommandLine, proc.cmd)
	r.setStr(nCreationTime, t.Add(-time.Duration(rng.IntN(86400))*time.Second).Format(tsLayout))
	r.setStr(nParentFileName, "services.exe")
	r.setNum(nParentPID, 700+int64(rng.IntN(100)))
	r.setStr(nParentCreationTime, t.Add(-72*time.Hour).Format(tsLayout))
	r.setStr(nAccountDomain, proc.domain)
	r.setStr(nAccountSid, "S-1-5-20")
	r.setStr(nAccountUpn, "")
	r.setStr(nAccountObjectId, "")
	r.setStr(nIntegrityLevel, "System")
	r.setStr(nTokenElevation, "TokenElevationTypeDefault")
	r.setStr(nAppGuardContainerId, "")
	r.setNum(nSessionId, 0)
	r.setBool(nIsRemoteSession, false)
	r.setStr(nRemoteSessionDeviceName, "")
	r.setStr(nRemoteSessionIP, "")
}
