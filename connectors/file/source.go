package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"sync"

	"github.com/edgewatch/edgewatch/connectors"
	"github.com/edgewatch/edgewatch/correlation"
)

// Options names the files a Source reads.
type Options struct {
	// DeviceInfo and NetworkEvents list the files of each table, read in
	// order. Each may be NDJSON, a JSON array, pretty-printed JSON or CSV,
	// gzip-compressed or not; the format is taken from the content.
	DeviceInfo    []string
	NetworkEvents []string
	// FS, when set, is where the paths are opened (e.g. an embed.FS);
	// otherwise they are operating-system paths.
	FS fs.FS
	// Workers is how many goroutines decode NDJSON network events
	// (0 = GOMAXPROCS). One more goroutine reads the file.
	Workers int
	// MaxRowBytes is the largest row read: an NDJSON line, a JSON value of
	// a document, a CSV line. A longer row is read past without being kept
	// and counted as "row too large" with its file and line (0 =
	// DefaultMaxRowBytes).
	MaxRowBytes int
}

// DefaultMaxRowBytes is Options.MaxRowBytes when it is 0: far above any
// Defender row (Event Hub messages are at most 1 MB) and far below the
// memory a read may use.
const DefaultMaxRowBytes = 16 << 20

// Source reads DeviceInfo and DeviceNetworkEvents rows from files.
type Source struct {
	opts Options
}

var _ connectors.Source = (*Source)(nil)

// New returns a Source over the files in opts.
func New(opts Options) *Source {
	return &Source{opts: opts}
}

func (s *Source) workers() int {
	if s.opts.Workers > 0 {
		return s.opts.Workers
	}
	return runtime.GOMAXPROCS(0)
}

func (s *Source) maxRow() int {
	if s.opts.MaxRowBytes > 0 {
		return s.opts.MaxRowBytes
	}
	return DefaultMaxRowBytes
}

// ctxCheckRows is how often sequential readers look at ctx.
const ctxCheckRows = 4096

// DeviceInfo streams the DeviceInfo rows in [q.From, q.To). Every row in the
// window is passed on, heartbeats included (the facing builder ignores rows
// without a facing port); rows that do not decode are counted in the Report,
// rows of other tables in Report.OtherTables.
func (s *Source) DeviceInfo(ctx context.Context, q connectors.FacingQuery, fn func(*correlation.DeviceInfo) error) (connectors.Report, error) {
	var rep connectors.Report
	prog := newProgress(q.Progress, s.opts.FS, s.opts.DeviceInfo)
	for _, path := range s.opts.DeviceInfo {
		d := newDeviceDecoder(q.From, q.To, path)
		err := s.readFile(ctx, path, prog, d, func() error {
			for i := range d.out {
				if err := fn(&d.out[i]); err != nil {
					return err
				}
			}
			d.out = d.out[:0]
			return nil
		})
		rep.Merge(d.rep)
		if err != nil {
			return rep, err
		}
		prog.fileDone()
	}
	prog.finish()
	return rep, nil
}

// NetworkEvents streams the DeviceNetworkEvents rows of q. When q.Facing or
// q.Indicators is set it pushes the match down: rows whose ActionType is not
// InboundConnectionAccepted (compared ignoring case), whose device and
// LocalPort are not in q.Facing, or whose RemoteIP is not in q.Indicators,
// are dropped after a scan of those few fields, before any full decode.
// Rows dropped that way count in Report.Read but are neither Passed nor
// Skipped; Skipped holds only data errors (bad JSON, missing DeviceId or
// time, a LocalPort or RemoteIP that does not parse), found while looking
// at the fields the filter needs. Rows of other tables count in
// Report.OtherTables only.
//
// NDJSON is decoded by Workers goroutines in parallel; events still reach fn
// in file order, one at a time. The event is reused after fn returns, but its
// Raw is a copy that nothing overwrites, so an alert may keep it.
//
// q.Progress, when set, gets the bytes read so far (of the files as stored:
// compressed bytes for gzip) against the total size of the files.
func (s *Source) NetworkEvents(ctx context.Context, q connectors.EventQuery, fn func(*correlation.NetworkEvent) error) (connectors.Report, error) {
	var rep connectors.Report
	f := newEventFilter(q)
	prog := newProgress(q.Progress, s.opts.FS, s.opts.NetworkEvents)
	for _, path := range s.opts.NetworkEvents {
		r, err := s.events(ctx, path, f, prog, fn)
		rep.Merge(r)
		if err != nil {
			return rep, err
		}
		prog.fileDone()
	}
	prog.finish()
	return rep, nil
}

func (s *Source) events(ctx context.Context, path string, f *eventFilter, prog *progress, fn func(*correlation.NetworkEvent) error) (connectors.Report, error) {
	in, err := openInput(s.opts.FS, path, prog.counter())
	if err != nil {
		return connectors.Report{}, err
	}
	defer in.Close()
	if in.format == formatNDJSON {
		return s.eventsNDJSON(ctx, in, f, prog, fn)
	}
	d := newEventDecoder(f, path, in.anyKeyOrder)
	err = s.readInput(ctx, in, prog, d, func() error {
		for i := range d.out {
			if err := fn(&d.out[i]); err != nil {
				return err
			}
		}
		d.out = d.out[:0]
		return nil
	})
	return d.rep, err
}

// rowDecoder is what a sequential read hands rows to: a table's decoder.
type rowDecoder interface {
	row(b []byte, c rowCtx)
	skipRow(reason string, line int)
	table() *table
	// missingColumns records the needed columns a CSV file lacks.
	missingColumns(cols []string)
}

func (rc *rowCounter) table() *table { return rc.want }

func (rc *rowCounter) missingColumns(cols []string) { rc.rep.MissingColumn(rc.src, cols) }

// readFile opens path and hands every row it holds to dec, calling flush
// after each.
func (s *Source) readFile(ctx context.Context, path string, prog *progress, dec rowDecoder, flush func() error) error {
	in, err := openInput(s.opts.FS, path, prog.counter())
	if err != nil {
		return err
	}
	defer in.Close()
	return s.readInput(ctx, in, prog, dec, flush)
}

// readInput hands every row of an opened input to dec, sequentially,
// calling flush after each. Errors from ctx and flush are returned as they
// are, read errors name the file.
func (s *Source) readInput(ctx context.Context, in *input, prog *progress, dec rowDecoder, flush func() error) error {
	n := 0
	var cbErr error
	row := func(b []byte, line int) error {
		n++
		if n%ctxCheckRows == 0 {
			if cbErr = ctx.Err(); cbErr != nil {
				return cbErr
			}
			prog.tick()
		}
		dec.row(b, rowCtx{line: line})
		cbErr = flush()
		return cbErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	maxRow := s.maxRow()
	switch in.format {
	case formatEmpty:
		return nil
	case formatNDJSON:
		c := newChunker(in.chunkReader(), maxRow)
		line := 1
		for {
			ch, err := c.next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return in.wrapErr(err)
			}
			line = ch.rows(line, maxRow, func(l []byte, line int) {
				if cbErr == nil {
					row(l, line)
				}
			}, func(line int) {
				if cbErr == nil {
					dec.skipRow(reasonTooLarge, line)
				}
			})
			ch.release()
			if cbErr != nil {
				return cbErr
			}
		}
	case formatDocument:
		d := newDocReader(in.r, maxRow)
		for {
			v, line, err := d.next()
			switch {
			case err == io.EOF:
				return nil
			case errors.Is(err, errDocSyntax):
				dec.skipRow(reasonBadDocument, line)
				return nil
			case errors.Is(err, errTooLarge):
				dec.skipRow(reasonTooLarge, line)
				continue
			case err != nil:
				return in.wrapErr(err)
			}
			if err := row(v, line); err != nil {
				return err
			}
		}
	case formatCSV:
		err := csvRows(in, dec, maxRow, row)
		if cbErr != nil {
			return cbErr
		}
		return err
	}
	return fmt.Errorf("%s: unknown format", in.path)
}

// eventsNDJSON is the fast path: a reader goroutine cuts the file into
// chunks of whole lines, Workers goroutines decode chunks in parallel, and
// this goroutine hands the results to fn in file order.
func (s *Source) eventsNDJSON(ctx context.Context, in *input, f *eventFilter, prog *progress, fn func(*correlation.NetworkEvent) error) (connectors.Report, error) {
	var rep connectors.Report
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	workers := s.workers()
	maxRow := s.maxRow()
	c := newChunker(in.chunkReader(), maxRow)

	// decode numbers the chunk's lines from first and returns the number
	// after them. The reader does not count lines (a pass over every byte
	// on the one goroutine all chunks go through), so a worker, which does
	// not know where its chunk starts, numbers from 0 and the results are
	// shifted in file order (shiftLines).
	decode := func(d *eventDecoder, ch *chunk, first int) (next int) {
		return ch.rows(first, maxRow, func(l []byte, line int) { d.row(l, rowCtx{line: line}) },
			func(line int) { d.skipRow(reasonTooLarge, line) })
	}
	next := 1 // the number of the next chunk's first line
	deliver := func(d *eventDecoder) error {
		for i := range d.out {
			if err := fn(&d.out[i]); err != nil {
				return err
			}
		}
		return nil
	}

	if workers <= 1 {
		d := newEventDecoder(f, in.path, in.anyKeyOrder)
		for {
			if err := ctx.Err(); err != nil {
				rep.Merge(d.rep)
				return rep, err
			}
			ch, err := c.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				rep.Merge(d.rep)
				return rep, in.wrapErr(err)
			}
			next = decode(d, ch, next)
			err = deliver(d)
			d.out = d.out[:0]
			ch.release()
			prog.tick()
			if err != nil {
				rep.Merge(d.rep)
				return rep, err
			}
		}
		rep.Merge(d.rep)
		return rep, nil
	}

	type result struct {
		ch    *chunk
		d     *eventDecoder
		lines int
	}
	type job struct {
		ch  *chunk
		res chan result
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, workers)
	order := make(chan chan result, 2*workers)
	var readErr error
	var wg sync.WaitGroup

	wg.Add(1)
	go func() { // reader
		defer wg.Done()
		defer close(jobs)
		defer close(order)
		for {
			ch, err := c.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				readErr = in.wrapErr(err)
				return
			}
			res := make(chan result, 1)
			select {
			case order <- res:
			case <-ctx.Done():
				ch.release()
				return
			}
			select {
			case jobs <- job{ch, res}:
			case <-ctx.Done():
				ch.release()
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				d := newEventDecoder(f, in.path, in.anyKeyOrder)
				lines := decode(d, j.ch, 0)
				j.res <- result{j.ch, d, lines}
			}
		}()
	}

	var err error
	for res := range order {
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			continue // drain: the reader stops at ctx.Done
		}
		r := <-res
		r.d.shiftLines(next) // the chunk's line 0 is line next
		next += r.lines
		rep.Merge(r.d.rep)
		err = deliver(r.d)
		r.ch.release()
		prog.tick()
		if err != nil {
			cancel()
		}
	}
	wg.Wait()
	if err == nil {
		err = readErr
	}
	if err == nil {
		// The reader stops early when the caller cancels; the derived ctx
		// is only cancelled here by the caller (our cancel runs on return).
		err = ctx.Err()
	}
	return rep, err
}
