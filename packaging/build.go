package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager

	"github.com/edgewatch/edgewatch/internal/version"
	"github.com/edgewatch/edgewatch/plugin"
)

// Names of the two executables.
const (
	hostName   = "edgewatch"
	pluginName = plugin.DefaultPlugin
)

// Formats Build writes.
const (
	FormatDeb = "deb"
	FormatRPM = "rpm"
	FormatTar = "tar.gz"
)

// Options say what Build makes.
type Options struct {
	Root    string       // the repository (holds go.mod); "" is the current directory
	Out     string       // output directory, created when missing
	Arches  []string     // GOARCH values; linux only
	Formats []string     // FormatDeb, FormatRPM, FormatTar
	Build   version.Info // stamped into both executables; empty fields come from git
	Log     io.Writer    // one line per step; nil discards
}

// Artifact is one file Build wrote.
type Artifact struct {
	Path   string
	Format string
	Arch   string
	Size   int64
}

// Build cross-compiles, stamps and packages edgewatch for every
// architecture and format in o, and writes SHA256SUMS beside the artefacts.
func Build(ctx context.Context, o Options) ([]Artifact, error) {
	root, err := filepath.Abs(cmp.Or(o.Root, "."))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return nil, fmt.Errorf("root %s is not the repository: %w", root, err)
	}
	for _, f := range o.Formats {
		if f != FormatDeb && f != FormatRPM && f != FormatTar {
			return nil, fmt.Errorf("unknown format %q (want deb, rpm or tar.gz)", f)
		}
	}
	if len(o.Arches) == 0 || len(o.Formats) == 0 {
		return nil, errors.New("no architecture or no format")
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	info, err := buildInfo(ctx, root, o.Build)
	if err != nil {
		return nil, err
	}
	built, err := time.Parse(time.RFC3339, info.Date)
	if err != nil {
		return nil, fmt.Errorf("build date %q: want RFC 3339: %w", info.Date, err)
	}
	out, err := filepath.Abs(cmp.Or(o.Out, "dist"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "edgewatch-package-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	fmt.Fprintf(logw, "packaging: edgewatch %s (package version %s)\n", info, packageVersion(info.Version))
	docs := filepath.Join(work, "docs")
	if err := generateDocs(docs, info, built); err != nil {
		return nil, fmt.Errorf("completions and man pages: %w", err)
	}
	var arts []Artifact
	for _, arch := range o.Arches {
		stage := filepath.Join(work, "linux_"+arch)
		fmt.Fprintf(logw, "packaging: building linux/%s\n", arch)
		if err := compile(ctx, root, arch, info, stage); err != nil {
			return nil, err
		}
		for _, f := range o.Formats {
			var path string
			var err error
			switch f {
			case FormatTar:
				path, err = tarball(root, arch, info, built, stage, docs, out)
			default:
				path, err = nfpmPackage(root, f, arch, info, built, stage, docs, out)
			}
			if err != nil {
				return nil, fmt.Errorf("%s linux/%s: %w", f, arch, err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(logw, "packaging: wrote %s (%d bytes)\n", path, fi.Size())
			arts = append(arts, Artifact{Path: path, Format: f, Arch: arch, Size: fi.Size()})
		}
	}
	if err := writeSums(filepath.Join(out, "SHA256SUMS"), arts); err != nil {
		return nil, err
	}
	return arts, nil
}

// buildInfo fills what the caller left empty: the version from `git
// describe --tags --always --dirty` (version.Dev outside a checkout), the
// commit, and the build date ($SOURCE_DATE_EPOCH when set, for
// reproducible builds, else now).
func buildInfo(ctx context.Context, root string, in version.Info) (version.Info, error) {
	git := func(args ...string) string {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", root}, args...)...).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	if in.Version == "" {
		in.Version = cmp.Or(git("describe", "--tags", "--always", "--dirty"), version.Dev)
	}
	if in.Commit == "" {
		in.Commit = git("rev-parse", "HEAD")
	}
	if in.Date == "" {
		t := time.Now()
		if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return in, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
			}
			t = time.Unix(n, 0)
		}
		in.Date = t.UTC().Format(time.RFC3339)
	}
	for _, v := range []string{in.Version, in.Commit, in.Date} {
		if strings.ContainsAny(v, " \t\n'\"") {
			return in, fmt.Errorf("build identity %q: no spaces or quotes", v)
		}
	}
	return in, nil
}

var (
	// A tag, optionally a pre-release, commits since it and the abbreviated
	// hash, and the dirty mark: v1.2.3, v1.2.3-rc.1-4-gabc1234-dirty.
	describeTag = regexp.MustCompile(`^v?([0-9]+(?:\.[0-9]+)*)(-(?:alpha|beta|rc)[0-9.]*)?(?:-([0-9]+)-g([0-9a-f]+))?(-dirty)?$`)
	// No tag: the abbreviated hash, and the dirty mark.
	describeHash = regexp.MustCompile(`^([0-9a-f]{4,})(-dirty)?$`)
)

// packageVersion turns a `git describe` version into one dpkg and rpm
// order correctly: v1.2.3 → 1.2.3, v1.2.3-4-gabc → 1.2.3+4.gabc (after
// 1.2.3), v1.3.0-rc1 → 1.3.0~rc1 (before 1.3.0), an untagged abc1234 →
// 0.0.0+git.abc1234, -dirty → +dirty / .dirty.
func packageVersion(v string) string {
	if m := describeTag.FindStringSubmatch(v); m != nil {
		s := m[1]
		if m[2] != "" {
			s += "~" + m[2][1:]
		}
		var meta []string
		if m[3] != "" {
			meta = append(meta, m[3], "g"+m[4])
		}
		if m[5] != "" {
			meta = append(meta, "dirty")
		}
		if len(meta) > 0 {
			s += "+" + strings.Join(meta, ".")
		}
		return s
	}
	if m := describeHash.FindStringSubmatch(v); m != nil {
		s := "0.0.0+git." + m[1]
		if m[2] != "" {
			s += ".dirty"
		}
		return s
	}
	// Anything else (version.Dev, a hand-given string): keep what dpkg and
	// rpm accept.
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '.', r == '+', r == '~':
			return r
		}
		return '~'
	}, strings.TrimPrefix(v, "v"))
	if clean == "" || clean[0] < '0' || clean[0] > '9' {
		clean = "0.0.0~" + clean
	}
	return clean
}

// compile builds the plugin, then the host stamped with the plugin's
// SHA-256, both for linux/arch without cgo, into stage.
func compile(ctx context.Context, root, arch string, info version.Info, stage string) error {
	pluginPath := filepath.Join(stage, pluginName)
	if err := goBuild(ctx, root, arch, version.LinkFlags(info, nil), pluginPath, "./cmd/"+pluginName); err != nil {
		return err
	}
	sum, err := plugin.FileSHA256(pluginPath)
	if err != nil {
		return err
	}
	return goBuild(ctx, root, arch, version.LinkFlags(info, map[string]string{pluginName: sum}),
		filepath.Join(stage, hostName), "./cmd/"+hostName)
}

func goBuild(ctx context.Context, root, arch string, stamp []string, out, pkg string) error {
	ldflags := "-s -w " + strings.Join(stamp, " ")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for linux/%s: %w\n%s", pkg, arch, err, b)
	}
	return nil
}

// nfpmPackage writes the deb or rpm that packaging/nfpm.yaml describes.
func nfpmPackage(root, format, arch string, info version.Info, built time.Time, stage, docs, out string) (string, error) {
	vars := map[string]string{"ARCH": arch, "PKG_VERSION": packageVersion(info.Version), "STAGE": stage, "DOCS": docs, "SRC": root}
	dir := filepath.Join(root, "packaging")
	cfg, err := nfpm.ParseFileWithEnvMapping(filepath.Join(dir, "nfpm.yaml"), func(k string) string { return vars[k] })
	if err != nil {
		return "", fmt.Errorf("nfpm.yaml: %w", err)
	}
	pinfo, err := cfg.Get(format)
	if err != nil {
		return "", err
	}
	pinfo.MTime = built
	pinfo = nfpm.WithDefaults(pinfo)
	for _, p := range []*string{&pinfo.Scripts.PreInstall, &pinfo.Scripts.PostInstall, &pinfo.Scripts.PreRemove, &pinfo.Scripts.PostRemove} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	packager, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	path := filepath.Join(out, packager.ConventionalFileName(pinfo))
	pinfo.Target = path
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := packager.Package(pinfo, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	return path, f.Close()
}

// writeSums writes a sha256sum-compatible list of the artefacts.
func writeSums(path string, arts []Artifact) error {
	var b strings.Builder
	names := make([]string, 0, len(arts))
	sums := map[string]string{}
	for _, a := range arts {
		sum, err := plugin.FileSHA256(a.Path)
		if err != nil {
			return err
		}
		n := filepath.Base(a.Path)
		names = append(names, n)
		sums[n] = sum
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
