package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/edgewatch/edgewatch/internal/version"
)

// tarEntry is one file of the tarball: src on disk, dst inside the
// top-level directory.
type tarEntry struct {
	src, dst string
	mode     int64
}

// tarball writes edgewatch_VERSION_linux_ARCH.tar.gz: one directory that
// runs where it is unpacked (the host finds the plugin beside itself and
// verifies it against the checksum compiled in), with the example
// configuration, the systemd unit, the sample, completions and man pages.
// nfpm has no tarball format; the layout differs from the packages' anyway
// (nothing under /usr), so this is archive/tar over the same staged files.
func tarball(root, arch string, info version.Info, built time.Time, stage, docs, out string) (string, error) {
	base := fmt.Sprintf("edgewatch_%s_linux_%s", packageVersion(info.Version), arch)
	entries := []tarEntry{
		{filepath.Join(stage, hostName), hostName, 0o755},
		{filepath.Join(stage, pluginName), pluginName, 0o755},
		{filepath.Join(root, "README.md"), "README.md", 0o644},
		{filepath.Join(root, "packaging", "edgewatch.yaml"), "edgewatch.yaml", 0o644},
		{filepath.Join(root, "packaging", "edgewatch.service"), "edgewatch.service", 0o644},
	}
	for _, tree := range []struct{ src, dst string }{
		{filepath.Join(docs, "completions"), "completions"},
		{filepath.Join(docs, "man"), "man/man1"},
		{filepath.Join(root, "testdata", "sample"), "sample"},
	} {
		err := filepath.WalkDir(tree.src, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(tree.src, p)
			if err != nil {
				return err
			}
			entries = append(entries, tarEntry{p, path.Join(tree.dst, filepath.ToSlash(rel)), 0o644})
			return nil
		})
		if err != nil {
			return "", err
		}
	}

	target := filepath.Join(out, base+".tar.gz")
	f, err := os.Create(target)
	if err != nil {
		return "", err
	}
	if err := writeTar(f, base, entries, built); err != nil {
		f.Close()
		os.Remove(target)
		return "", err
	}
	return target, f.Close()
}

func writeTar(w io.Writer, base string, entries []tarEntry, mtime time.Time) error {
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	var mkdir func(d string) error
	mkdir = func(d string) error {
		if d == "." || dirs[d] {
			return nil
		}
		if err := mkdir(path.Dir(d)); err != nil {
			return err
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime,
			Uname: "root", Gname: "root", Format: tar.FormatPAX})
	}
	for _, e := range entries {
		name := path.Join(base, e.dst)
		if err := mkdir(path.Dir(name)); err != nil {
			return err
		}
		b, err := os.ReadFile(e.src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: e.mode, Size: int64(len(b)),
			ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}
