package engine

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/edgewatch/edgewatch/correlation"
	"github.com/edgewatch/edgewatch/plugin/wire"
)

// LoadFeedFiles parses indicator files into one set. A levels file's level
// comes from its name ("4.txt", "levels-4-2026-01-02.txt"); gzip files are
// detected by content. A file that cannot be opened or read fails the load
// with its name; malformed lines are only counted.
func LoadFeedFiles(ctx context.Context, paths []string, opts correlation.FeedOptions) (*correlation.IndicatorSet, []correlation.FeedReport, error) {
	// Without a name each file is named after what it is: "ipsum" for
	// IPsum's files, its own name otherwise (correlation.FeedName).
	opts.DeriveName = opts.Name == ""
	set := correlation.NewIndicatorSet(opts.Name)
	reps := make([]correlation.FeedReport, 0, len(paths))
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		o := opts
		o.LevelHint = correlation.LevelFromFileName(filepath.Base(p))
		rep, err := loadFeedFile(p, o, set)
		if err != nil {
			return nil, nil, err
		}
		reps = append(reps, rep)
	}
	return set, reps, nil
}

func loadFeedFile(path string, opts correlation.FeedOptions, set *correlation.IndicatorSet) (correlation.FeedReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return correlation.FeedReport{}, fmt.Errorf("%w: feed: %w", ErrConfig, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		opts.SizeHint = fi.Size() // not used for a gzip file: its text is longer
	}
	return parseFeed(f, path, opts, set)
}

// LoadFeed parses one feed read from r (plain or gzip; source names it in
// the report) into a set, as LoadFeedFiles does for a file.
func LoadFeed(ctx context.Context, r io.Reader, source string, opts correlation.FeedOptions) (*correlation.IndicatorSet, correlation.FeedReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, correlation.FeedReport{}, err
	}
	if opts.Name == "" {
		opts.Name = wire.DefaultFeedName
	}
	set := correlation.NewIndicatorSet(opts.Name)
	rep, err := parseFeed(r, source, opts, set)
	if err != nil {
		return nil, rep, err
	}
	return set, rep, nil
}

// parseFeed parses one feed. A feed that cannot be read to its end (an
// unreadable file, a truncated or corrupt gzip) is an input error.
func parseFeed(r io.Reader, source string, opts correlation.FeedOptions, set *correlation.IndicatorSet) (correlation.FeedReport, error) {
	r, gz, err := maybeGunzip(r, source)
	if err != nil {
		return correlation.FeedReport{}, wire.AsInput(err)
	}
	if gz {
		opts.SizeHint = 0
	}
	rep, err := correlation.ParseFeed(r, source, opts, set)
	if err != nil {
		return rep, wire.AsInput(fmt.Errorf("feed %s: %w", source, err))
	}
	return rep, nil
}

// maybeGunzip returns a reader of r's content, gunzipped when it starts with
// the gzip magic (gz then true).
func maybeGunzip(r io.Reader, name string) (io.Reader, bool, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, false, fmt.Errorf("read %s: %w", name, err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, true, fmt.Errorf("%s: bad gzip data: %w", name, err)
		}
		return zr, true, nil
	}
	return br, false, nil
}
