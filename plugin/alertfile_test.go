package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	pb "github.com/edgewatch/edgewatch/plugin/internal/proto/edgewatch/v1"
	"google.golang.org/grpc"
)

// writtenRecorder is a recorder that also hears AlertsWritten.
type writtenRecorder struct {
	recorder
	wmu     sync.Mutex
	written []AlertsWritten
}

func (w *writtenRecorder) AlertsWritten(_ context.Context, aw AlertsWritten) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.written = append(w.written, aw)
	return nil
}

// tempOutput is a host's temporary output file in its own directory.
func tempOutput(t *testing.T) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), ".alerts.ndjson.tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func ndjsonOf(batches ...[]Alert) string {
	var s string
	for _, b := range batches {
		s += string(NewAlertBatch(b).NDJSON)
	}
	return s
}

// TestRunAlertFile: offered the host's file, the plugin writes every
// document into it; nothing crosses the stream but the counts.
func TestRunAlertFile(t *testing.T) {
	t.Parallel()
	batches := [][]Alert{alerts(3, "a"), alerts(2, "b")}
	c := connect(t, &fakeDetector{batches: batches, summary: json.RawMessage(`{"run_id":"r"}`)})
	f := tempOutput(t)
	rec := &writtenRecorder{}
	res, err := c.Run(context.Background(), RunRequest{AlertFile: f}, rec)
	if err != nil {
		t.Fatal(err)
	}
	want := ndjsonOf(batches...)
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("file holds %q, want %q", got, want)
	}
	if len(rec.alerts) != 0 {
		t.Errorf("%d alerts came over the stream as well", len(rec.alerts))
	}
	total := AlertsWritten{Documents: 5, Bytes: int64(len(want))}
	if res.AlertFile == nil || *res.AlertFile != total {
		t.Errorf("result totals %+v, want %+v", res.AlertFile, total)
	}
	// The first batch is reported at once; the second comes within
	// writtenEvery of it on any sane machine, and is left to the result.
	if n := len(rec.written); n == 0 || n > 2 || rec.written[0].Documents != 3 || rec.written[n-1].Documents > total.Documents {
		t.Errorf("written reports %+v, want 3 documents, then at most %+v", rec.written, total)
	}
	if string(res.Summary) != `{"run_id":"r"}` {
		t.Errorf("summary %s", res.Summary)
	}
}

// TestRunAlertFileNotTaken: whenever the plugin cannot be sure it writes
// the very file the host created, the documents come over the stream and
// the file is left alone.
func TestRunAlertFileNotTaken(t *testing.T) {
	t.Parallel()
	batches := [][]Alert{alerts(3, "a")}
	cases := []struct {
		name string
		// prepare changes the world between the host's offer and the run;
		// it returns the path whose content must stay as it was.
		prepare func(t *testing.T, f *os.File) (path, content string)
		rows    bool
		old     bool
	}{
		{name: "table rows asked for", rows: true},
		{name: "a plugin that predates the alert file", old: true},
		{name: "path now names another file", prepare: func(t *testing.T, f *os.File) (string, string) {
			other := filepath.Join(filepath.Dir(f.Name()), "other")
			if err := os.WriteFile(other, []byte("keep\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, f.Name()); err != nil {
				t.Fatal(err)
			}
			return f.Name(), "keep\n"
		}},
		{name: "path is a symbolic link to the file", prepare: func(t *testing.T, f *os.File) (string, string) {
			// Even a link to the right file is refused: the plugin opens
			// the path without following links.
			real := f.Name() + ".real"
			if err := os.Rename(f.Name(), real); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(real, f.Name()); err != nil {
				t.Fatal(err)
			}
			return real, ""
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c *grpcClient
			if tc.old {
				c = connectRaw(t, oldPlugin{})
			} else {
				c = connect(t, &fakeDetector{batches: batches, summary: json.RawMessage(`{}`)})
			}
			f := tempOutput(t)
			path, content := f.Name(), ""
			rec := &writtenRecorder{}
			req := RunRequest{AlertFile: f, AlertRows: tc.rows}
			if tc.prepare != nil {
				// The host describes the file through its descriptor, so
				// its offer still names the file it created.
				path, content = tc.prepare(t, f)
			}
			res, err := c.Run(context.Background(), req, rec)
			if err != nil {
				t.Fatal(err)
			}
			if res.AlertFile != nil {
				t.Errorf("the plugin reports writing the file: %+v", res.AlertFile)
			}
			if len(rec.alerts) == 0 || len(rec.written) != 0 {
				t.Errorf("%d alerts over the stream (want them all), %d written reports (want none)", len(rec.alerts), len(rec.written))
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != content {
				t.Errorf("%s holds %q (%v), want %q", path, got, err, content)
			}
			if fi, err := f.Stat(); err != nil || fi.Size() != 0 {
				t.Errorf("the offered file was written: %v, %v", fi.Size(), err)
			}
		})
	}
}

// lyingPlugin breaks the alert file contract on purpose.
type lyingPlugin struct {
	pb.UnimplementedDetectorServer
	write  string            // appended to the offered file
	docs   bool              // documents over the stream as well
	claim  *pb.AlertsWritten // what the result reports
	report bool              // a written event even without an offer
}

func (l lyingPlugin) Run(req *pb.RunRequest, srv grpc.ServerStreamingServer[pb.RunEvent]) error {
	if af := req.GetAlertFile(); af != nil && l.write != "" {
		f, err := os.OpenFile(af.GetPath(), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteString(l.write)
		f.Close()
		if err != nil {
			return err
		}
	}
	if l.docs {
		if err := srv.Send(&pb.RunEvent{Event: &pb.RunEvent_Documents{Documents: &pb.AlertDocuments{Ndjson: []byte("{}\n")}}}); err != nil {
			return err
		}
	}
	if l.report {
		if err := srv.Send(&pb.RunEvent{Event: &pb.RunEvent_Written{Written: &pb.AlertsWritten{Documents: 1, Bytes: 3}}}); err != nil {
			return err
		}
	}
	return srv.Send(&pb.RunEvent{Event: &pb.RunEvent_Result{Result: &pb.RunResult{SummaryJson: []byte(`{}`), AlertFile: l.claim}}})
}

// TestHostChecksAlertFile: the host takes the plugin's totals only when
// the file grew by exactly those bytes, it offered the file, and no
// document came over the stream too.
func TestHostChecksAlertFile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		p     lyingPlugin
		offer bool
		ok    bool
	}{
		{name: "honest", offer: true, ok: true, p: lyingPlugin{write: "{}\n{}\n", claim: &pb.AlertsWritten{Documents: 2, Bytes: 6}}},
		{name: "claims fewer bytes than it wrote", offer: true, p: lyingPlugin{write: "{}\n{}\n", claim: &pb.AlertsWritten{Documents: 1, Bytes: 3}}},
		{name: "claims bytes it did not write", offer: true, p: lyingPlugin{claim: &pb.AlertsWritten{Documents: 1, Bytes: 3}}},
		{name: "documents without bytes", offer: true, p: lyingPlugin{claim: &pb.AlertsWritten{Documents: 1}}},
		{name: "file and stream", offer: true, p: lyingPlugin{write: "{}\n", docs: true, claim: &pb.AlertsWritten{Documents: 1, Bytes: 3}}},
		{name: "claims a file it was not offered", p: lyingPlugin{claim: &pb.AlertsWritten{}}},
		{name: "reports writing a file it was not offered", p: lyingPlugin{report: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := RunRequest{}
			if tc.offer {
				req.AlertFile = tempOutput(t)
			}
			_, err := connectRaw(t, tc.p).Run(context.Background(), req, &writtenRecorder{})
			if tc.ok && err != nil {
				t.Errorf("error %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidResponse) {
				t.Errorf("error %v, want ErrInvalidResponse", err)
			}
		})
	}
}

// TestThrottle: the first report is due at once, then one per writtenEvery.
func TestThrottle(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	var th throttle
	steps := []struct {
		name  string
		after time.Duration // since t0
		want  bool
	}{
		{"first", 0, true},
		{"right after", time.Millisecond, false},
		{"just short of the pace", writtenEvery - time.Nanosecond, false},
		{"at the pace", writtenEvery, true},
		{"a pace after the last due, not the last asked", 2*writtenEvery - time.Millisecond, false},
		{"two paces", 2 * writtenEvery, true},
	}
	for _, st := range steps {
		if got := th.due(t0.Add(st.after)); got != st.want {
			t.Errorf("%s (+%s): due = %v, want %v", st.name, st.after, got, st.want)
		}
	}
}

// TestAlertBatchLen: Count when the plugin knows it, else the lines; the
// invariant check counts the lines whatever Count says.
func TestAlertBatchLen(t *testing.T) {
	tests := []struct {
		name    string
		b       AlertBatch
		want    int
		wantErr bool
	}{
		{name: "counted", b: AlertBatch{NDJSON: []byte("{}\n{}\n")}, want: 2},
		{name: "known", b: AlertBatch{NDJSON: []byte("{}\n{}\n"), Count: 2}, want: 2},
		{name: "empty", b: AlertBatch{}, want: 0},
		{name: "rows checked against the lines, not Count", b: AlertBatch{NDJSON: []byte("{}\n{}\n"), Rows: make([]Row, 3), Count: 3}, want: 3, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.Len(); got != tc.want {
				t.Errorf("Len = %d, want %d", got, tc.want)
			}
			if err := tc.b.check(); (err != nil) != tc.wantErr {
				t.Errorf("check = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// TestSendStreamWantsRows: rows go to a host that asked for them or that
// predates the NDJSON encoding.
func TestSendStreamWantsRows(t *testing.T) {
	tests := []struct {
		name     string
		encoding pb.AlertEncoding
		rows     bool
		want     bool
	}{
		{"ndjson", pb.AlertEncoding_ALERT_ENCODING_NDJSON, false, false},
		{"ndjson with rows (a table)", pb.AlertEncoding_ALERT_ENCODING_NDJSON, true, true},
		{"a host before NDJSON", pb.AlertEncoding_ALERT_ENCODING_UNSPECIFIED, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (&sendStream{encoding: tc.encoding, rows: tc.rows}).WantsRows(); got != tc.want {
				t.Errorf("WantsRows = %v, want %v", got, tc.want)
			}
		})
	}
}
