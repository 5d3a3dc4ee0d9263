package gen

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Formats the generator writes.
const (
	FormatNDJSON    = "ndjson"    // flat Advanced Hunting rows (Timestamp), one per line
	FormatSentinel  = "sentinel"  // Log Analytics rows (TimeGenerated, AdditionalFields as an object)
	FormatStreaming = "streaming" // Streaming API records, one per line ({time, tenantId, category, properties})
	FormatEventHub  = "eventhub"  // Event Hub messages: {"records":[...]} batches of records, one per line
	FormatCSV       = "csv"       // portal CSV export: header row, then rows
)

// Formats lists the accepted format names.
var Formats = []string{FormatNDJSON, FormatSentinel, FormatStreaming, FormatEventHub, FormatCSV}

// Column profiles for network events.
const (
	ColumnsTypical = "typical" // the columns Defender usually fills: ~450 bytes a row
	ColumnsFull    = "full"    // every DeviceNetworkEvents column: ~1.3 KB a row
)

// Config describes a dataset. The same Config (seed included) always yields
// the same bytes.
type Config struct {
	Devices        int    // devices in the fleet (default 2000)
	Events         int    // DeviceNetworkEvents rows (default 100000)
	DeviceInfoRows int    // DeviceInfo rows at least (default 5 per device)
	FeedPath       string // feed whose addresses are planted in events; "" = synthesize one and write feed.txt
	Seed           uint64
	Format         string // see Formats (default ndjson)
	Columns        string // ColumnsTypical (default) or ColumnsFull
	Gzip           bool   // compress the outputs (names get .gz)
	BadRows        int    // malformed network event rows to plant (spread evenly)
	Start          time.Time
	Span           time.Duration // events cover [Start, Start+Span)
	// FacingShare is the share of devices that are internet-facing (default 0.2).
	FacingShare float64
	// InboundShare is the share of events that are InboundConnectionAccepted (default 0.14).
	InboundShare float64
	// FeedHitShare is the share of events whose remote is a feed address (default 0.03).
	FeedHitShare float64
}

func (c *Config) defaults() error {
	if c.Devices <= 0 {
		c.Devices = 2000
	}
	if c.Events < 0 {
		return errors.New("events must be >= 0")
	}
	if c.DeviceInfoRows <= 0 {
		c.DeviceInfoRows = 5 * c.Devices
	}
	if c.Format == "" {
		c.Format = FormatNDJSON
	}
	ok := false
	for _, f := range Formats {
		ok = ok || f == c.Format
	}
	if !ok {
		return fmt.Errorf("unknown format %q (want one of %s)", c.Format, strings.Join(Formats, ", "))
	}
	if c.Columns == "" {
		c.Columns = ColumnsTypical
	}
	if c.Columns != ColumnsTypical && c.Columns != ColumnsFull {
		return fmt.Errorf("unknown column profile %q (want typical or full)", c.Columns)
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC)
	}
	if c.Span <= 0 {
		c.Span = 7 * 24 * time.Hour
	}
	if c.FacingShare <= 0 {
		c.FacingShare = 0.2
	}
	if c.InboundShare <= 0 {
		c.InboundShare = 0.14
	}
	if c.FeedHitShare <= 0 {
		c.FeedHitShare = 0.03
	}
	return nil
}

// Result tells what Generate wrote.
type Result struct {
	DeviceInfoPath    string `json:"device_info"`
	NetworkEventsPath string `json:"network_events"`
	FeedPath          string `json:"feed"`
	DeviceInfoRows    int    `json:"device_info_rows"`
	Events            int    `json:"events"` // rows written, duplicates and bad rows included
	EventBytes        int64  `json:"event_bytes"`
}

// Generate writes device_info.<ext> and network_events.<ext> (and feed.txt
// when cfg.FeedPath is empty) into dir. Memory stays constant whatever the
// number of events.
func Generate(cfg Config, dir string) (Result, error) {
	w, err := NewWorld(cfg)
	if err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, err
	}
	ext := ".ndjson"
	if w.cfg.Format == FormatCSV {
		ext = ".csv"
	}
	if w.cfg.Gzip {
		ext += ".gz"
	}
	res := Result{
		DeviceInfoPath:    filepath.Join(dir, "device_info"+ext),
		NetworkEventsPath: filepath.Join(dir, "network_events"+ext),
		FeedPath:          w.cfg.FeedPath,
	}
	if res.FeedPath == "" {
		res.FeedPath = filepath.Join(dir, "feed.txt")
		if err := writeFile(res.FeedPath, false, func(bw io.Writer) error { return w.WriteFeed(bw) }); err != nil {
			return res, err
		}
	}
	if err := writeFile(res.DeviceInfoPath, w.cfg.Gzip, func(bw io.Writer) error {
		n, err := w.WriteDeviceInfo(bw)
		res.DeviceInfoRows = n
		return err
	}); err != nil {
		return res, err
	}
	if err := writeFile(res.NetworkEventsPath, w.cfg.Gzip, func(bw io.Writer) error {
		cw := &countWriter{w: bw}
		n, err := w.WriteNetworkEvents(cw)
		res.Events, res.EventBytes = n, cw.n
		return err
	}); err != nil {
		return res, err
	}
	return res, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeFile writes path atomically (temp file + rename) through a buffer,
// gzip-compressed when zip is set.
func writeFile(path string, zip bool, fill func(io.Writer) error) (err error) {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	var out io.Writer = f
	var zw *gzip.Writer
	if zip {
		zw, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		out = zw
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	if err = fill(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if zw != nil {
		if err = zw.Close(); err != nil {
			return err
		}
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// World is the fleet and the feed sample a dataset is drawn from.
type World struct {
	cfg      Config
	devices  []device
	facing   []int // indexes of internet-facing devices
	feed     []netip.Addr
	tenantID string
}

type device struct {
	id, name, group, os, osVersion, publicIP, localIP string
	internetFacing                                    bool
	ports                                             []facingPort
	role                                              string
}

type facingPort struct {
	port      int
	protocol  string
	stopped   bool // the port's latest DeviceInfo row says IsInternetFacing false
	scan      bool // found by an external scan (carries the public-scanned keys)
	seedKeys  bool // spells them InternetFacingScannedPublic* like the seed query
	strPort   bool // writes the port as a JSON string
	publicIP  string
	publicPrt int
}

// NewWorld builds the fleet and loads the feed sample.
func NewWorld(cfg Config) (*World, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	w := &World{cfg: cfg}
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	w.tenantID = uuid(rng)
	if cfg.FeedPath != "" {
		feed, err := sampleFeed(cfg.FeedPath, 4096, rand.New(rand.NewPCG(cfg.Seed, 2)))
		if err != nil {
			return nil, err
		}
		if len(feed) == 0 {
			return nil, fmt.Errorf("feed %s: no addresses", cfg.FeedPath)
		}
		w.feed = feed
	} else {
		frng := rand.New(rand.NewPCG(cfg.Seed, 2))
		seen := map[netip.Addr]bool{}
		for len(w.feed) < 5000 {
			a := publicIPv4(frng)
			if !seen[a] {
				seen[a] = true
				w.feed = append(w.feed, a)
			}
		}
	}
	w.devices = make([]device, cfg.Devices)
	for i := range w.devices {
		w.devices[i] = newDevice(rng, i, cfg.FacingShare)
		if w.devices[i].internetFacing {
			w.facing = append(w.facing, i)
		}
	}
	return w, nil
}

// WriteFeed writes the synthesized feed as a plain address list.
func (w *World) WriteFeed(out io.Writer) error {
	var b []byte
	b = append(b, "# edgewatch-gen synthetic feed (seed "...)
	b = strconv.AppendUint(b, w.cfg.Seed, 10)
	b = append(b, ")\n"...)
	for _, a := range w.feed {
		b = a.AppendTo(b)
		b = append(b, '\n')
	}
	_, err := out.Write(b)
	return err
}

var roles = []struct {
	name  string
	ports []int
	proto string
}{
	{"web", []int{443, 80}, "Tcp"},
	{"rdp", []int{3389}, "Tcp"},
	{"mail", []int{25, 443}, "Tcp"},
	{"ssh", []int{22}, "Tcp"},
	{"vpn", []int{443, 1194}, "Tcp"},
	{"sql", []int{1433}, "Tcp"},
	{"ftp", []int{21}, "Tcp"},
	{"mgmt", []int{5985, 8443}, "Tcp"},
}

var osList = []struct{ platform, version string }{
	{"WindowsServer2022", "10.0"}, {"WindowsServer2019", "10.0"}, {"WindowsServer2016", "10.0"},
	{"Windows11", "10.0"}, {"Windows10", "10.0"}, {"Linux", "22.04"},
}

var groups = []string{"Servers - DMZ", "Servers - Core", "Workstations", "Kiosks", "Lab"}

func newDevice(rng *rand.Rand, i int, facingShare float64) device {
	d := device{id: hexString(rng, 40)}
	d.internetFacing = rng.Float64() < facingShare
	d.localIP = fmt.Sprintf("10.%d.%d.%d", 1+rng.IntN(250), rng.IntN(256), 1+rng.IntN(254))
	d.publicIP = publicIPv4(rng).String()
	if d.internetFacing {
		r := roles[rng.IntN(len(roles))]
		d.role = r.name
		d.name = fmt.Sprintf("%s-%04d.contoso.com", r.name, i)
		d.group = groups[0]
		o := osList[rng.IntN(3)]
		d.os, d.osVersion = o.platform, o.version
		n := 1 + rng.IntN(len(r.ports))
		for _, p := range r.ports[:n] {
			fp := facingPort{port: p, protocol: r.proto}
			fp.stopped = rng.Float64() < 0.15
			fp.scan = rng.Float64() < 0.4
			fp.seedKeys = fp.scan && rng.Float64() < 0.5
			fp.strPort = rng.Float64() < 0.15
			fp.publicIP = d.publicIP
			fp.publicPrt = p
			d.ports = append(d.ports, fp)
		}
		return d
	}
	if rng.Float64() < 0.3 {
		d.name = fmt.Sprintf("srv-%04d.corp.contoso.com", i)
		d.group = groups[1]
		o := osList[rng.IntN(3)]
		d.os, d.osVersion = o.platform, o.version
	} else {
		d.name = fmt.Sprintf("wks-%04d.corp.contoso.com", i)
		d.group = groups[2+rng.IntN(3)]
		o := osList[3+rng.IntN(3)]
		d.os, d.osVersion = o.platform, o.version
	}
	return d
}

// sampleFeed draws up to k addresses from a feed file (IPsum ipsum.txt,
// levels/N.txt or a plain list; '#' comments) by reservoir sampling, so a
// large feed is never held whole.
func sampleFeed(path string, k int, rng *rand.Rand) ([]netip.Addr, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<16)
	if br := r.(*bufio.Reader); true {
		if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
			zr, err := gzip.NewReader(br)
			if err != nil {
				return nil, fmt.Errorf("feed %s: %w", path, err)
			}
			r = zr
		}
	}
	sc := bufio.NewScanner(r)
	var out []netip.Addr
	seen := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			line = line[:i]
		}
		a, err := netip.ParseAddr(line)
		if err != nil {
			continue // CIDRs and junk are not planted
		}
		a = a.Unmap()
		if !isPublic(a) {
			continue
		}
		seen++
		if len(out) < k {
			out = append(out, a)
		} else if j := rng.IntN(seen); j < k {
			out[j] = a
		}
	}
	return out, sc.Err()
}

func hexString(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[rng.IntN(16)]
	}
	return string(b)
}

func uuid(rng *rand.Rand) string {
	h := hexString(rng, 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.88.99.0/24"), netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("224.0.0.0/3"),
}

func isPublic(a netip.Addr) bool {
	if !a.Is4() {
		return a.IsGlobalUnicast() && !a.IsPrivate()
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

func publicIPv4(rng *rand.Rand) netip.Addr {
	for {
		v := rng.Uint32()
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		if isPublic(a) {
			return a
		}
	}
}
