package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra/doc"

	"github.com/edgewatch/edgewatch/internal/cli"
	"github.com/edgewatch/edgewatch/internal/version"
)

// generateDocs writes, from the edgewatch command tree, the shell
// completions (dir/completions: edgewatch.bash, _edgewatch, edgewatch.fish)
// and gzipped man pages (dir/man: edgewatch.1.gz, edgewatch-run.1.gz, …).
// The completion scripts ask the installed edgewatch (`edgewatch
// __complete …`) for the candidates, as cobra's always do.
func generateDocs(dir string, info version.Info, built time.Time) error {
	comp := filepath.Join(dir, "completions")
	man := filepath.Join(dir, "man")
	raw := filepath.Join(dir, "man.raw")
	for _, d := range []string{comp, man, raw} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	root := cli.CommandTree()
	gens := map[string]func(*bytes.Buffer) error{
		"edgewatch.bash": func(b *bytes.Buffer) error { return root.GenBashCompletionV2(b, true) },
		"_edgewatch":     func(b *bytes.Buffer) error { return root.GenZshCompletion(b) },
		"edgewatch.fish": func(b *bytes.Buffer) error { return root.GenFishCompletion(b, true) },
	}
	for name, gen := range gens {
		var b bytes.Buffer
		if err := gen(&b); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(comp, name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}

	root.DisableAutoGenTag = true // no generation date in the pages: reproducible
	hdr := &doc.GenManHeader{Title: "EDGEWATCH", Section: "1", Source: "edgewatch " + info.Version,
		Manual: "edgewatch manual", Date: &built}
	if err := doc.GenManTree(root, hdr, raw); err != nil {
		return err
	}
	pages, err := filepath.Glob(filepath.Join(raw, "*.1"))
	if err != nil {
		return err
	}
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression) // no name, no time: reproducible
		if _, err := zw.Write(b); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		name := strings.TrimSuffix(filepath.Base(p), ".1") + ".1.gz"
		if err := os.WriteFile(filepath.Join(man, name), z.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return os.RemoveAll(raw)
}
