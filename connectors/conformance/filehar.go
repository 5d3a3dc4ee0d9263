package conformance

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgewatch/edgewatch/connectors/file"
)

// FileHarness loads a dataset as two NDJSON files of Advanced Hunting rows
// and reads them with the file connector.
func FileHarness(t *testing.T, ds Dataset) Loaded {
	t.Helper()
	dir := t.TempDir()
	di := filepath.Join(dir, "DeviceInfo.ndjson")
	ev := filepath.Join(dir, "DeviceNetworkEvents.ndjson")
	writeNDJSON(t, di, ds.DeviceInfo)
	writeNDJSON(t, ev, ds.NetworkEvents)
	return Loaded{Source: file.New(file.Options{DeviceInfo: []string{di}, NetworkEvents: []string{ev}})}
}

func writeNDJSON(t *testing.T, path string, rows []Row) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, r := range rows {
		if err := enc.Encode(r.Columns()); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
