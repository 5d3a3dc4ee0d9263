package file

import (
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/edgewatch/edgewatch/connectors/internal/jsonscan"
	"github.com/edgewatch/edgewatch/internal/jsonenc"
)

// CSV exports (Defender portal "Export" of an Advanced Hunting result, or a
// Log Analytics export) carry a header row of column names. Each data row is
// turned into the JSON object an Advanced Hunting row would be, so the same
// decoders apply and the alert keeps a faithful copy of the row: empty cells
// are left out, known numeric and boolean columns become numbers and
// booleans when they parse, everything else stays a string.

var csvNumeric = map[string]bool{
	"LocalPort": true, "RemotePort": true, "ReportId": true,
	"InitiatingProcessId": true, "InitiatingProcessParentId": true,
	"InitiatingProcessFileSize": true, "InitiatingProcessSessionId": true,
	"OSBuild": true,
}

var csvBool = map[string]bool{
	"IsInternetFacing": true, "IsAzureADJoined": true, "IsExcluded": true,
	"IsInitiatingProcessRemoteSession": true,
}

// csvRows reads a CSV file and calls fn with each data row as a JSON object
// and its line number. Rows that do not parse are reported through bad.
func csvRows(r io.Reader, fn func(row []byte, line int) error, bad func(line int)) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	cols := make([]string, len(header))
	kinds := make([]byte, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		cols[i] = h
		switch {
		case csvNumeric[h]:
			kinds[i] = jsonscan.KindNumber
		case csvBool[h]:
			kinds[i] = jsonscan.KindTrue
		}
	}
	var buf []byte
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad(pe.StartLine)
				continue
			}
			return err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(cols) {
			if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
				continue // blank line
			}
			bad(line)
			continue
		}
		buf = append(buf[:0], '{')
		for i, v := range rec {
			if v == "" {
				continue
			}
			if len(buf) > 1 {
				buf = append(buf, ',')
			}
			buf = jsonenc.AppendString(buf, cols[i])
			buf = append(buf, ':')
			switch kinds[i] {
			case jsonscan.KindNumber:
				if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
					buf = append(buf, strings.TrimSpace(v)...)
					continue
				}
			case jsonscan.KindTrue:
				switch strings.ToLower(strings.TrimSpace(v)) {
				case "true", "1":
					buf = append(buf, "true"...)
					continue
				case "false", "0":
					buf = append(buf, "false"...)
					continue
				}
			}
			buf = jsonenc.AppendString(buf, v)
		}
		buf = append(buf, '}')
		if err := fn(buf, line); err != nil {
			return err
		}
	}
}
