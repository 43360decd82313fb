// Package buildinfo says which build of Yinzheng is running: the module
// version, the commit and its date, the Go toolchain and the versions of the
// two libraries that decide proof compatibility, gnark and gnark-crypto. It
// reads them from the information the Go linker records in every binary
// (runtime/debug.ReadBuildInfo), so nothing has to be stamped by hand and a
// binary cannot claim a version it was not built from.
//
// `yinzheng version` prints it, and the HTTP services export it as the
// yinzheng_build_info metric and in their "listening" log line.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Module paths whose versions are reported.
const (
	GnarkModule       = "github.com/consensys/gnark"
	GnarkCryptoModule = "github.com/consensys/gnark-crypto"
)

// Unknown stands for a field the build did not record: a test binary has no
// VCS stamp, a build outside a Git checkout has no commit.
const Unknown = "unknown"

// Info describes one build. Every field is set; what the build did not
// record is [Unknown].
type Info struct {
	// Version is the main module's version: a tag (v1.2.3), a pseudo-version
	// derived from the commit by the Go toolchain, or "(devel)".
	Version string
	// Commit is the VCS revision, with "-dirty" appended when the working
	// tree had uncommitted changes.
	Commit string
	// Date is the commit time (vcs.time, RFC 3339). Go records the commit's
	// time, not the wall clock of the build, so that builds are reproducible.
	Date        string
	GoVersion   string
	Gnark       string
	GnarkCrypto string
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return FromBuildInfo(nil)
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo extracts an [Info] from bi (nil gives an Info of Unknowns
// except the Go version of the running toolchain).
func FromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: Unknown, Commit: Unknown, Date: Unknown, GoVersion: runtime.Version(),
		Gnark: Unknown, GnarkCrypto: Unknown}
	if bi == nil {
		return info
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.Date = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && info.Commit != Unknown {
		info.Commit += "-dirty"
	}
	for _, d := range bi.Deps {
		m := d
		if m.Replace != nil {
			// A replaced module runs the replacement's code.
			m = m.Replace
		}
		switch d.Path {
		case GnarkModule:
			info.Gnark = m.Version
		case GnarkCryptoModule:
			info.GnarkCrypto = m.Version
		}
	}
	return info
}

// String is the multi-line text `yinzheng version` prints.
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "yinzheng %s\n", i.Version)
	fmt.Fprintf(&b, "commit:       %s\n", i.Commit)
	fmt.Fprintf(&b, "commit date:  %s\n", i.Date)
	fmt.Fprintf(&b, "go:           %s\n", i.GoVersion)
	fmt.Fprintf(&b, "gnark:        %s\n", i.Gnark)
	fmt.Fprintf(&b, "gnark-crypto: %s\n", i.GnarkCrypto)
	return b.String()
}

// Summary is a one-line form for log and status lines.
func (i Info) Summary() string {
	return fmt.Sprintf("yinzheng %s, commit %s, %s, gnark %s", i.Version, i.Commit, i.GoVersion, i.Gnark)
}

// LogAttrs returns the fields as slog key-value pairs.
func (i Info) LogAttrs() []any {
	return []any{"version", i.Version, "commit", i.Commit, "commit_date", i.Date,
		"go_version", i.GoVersion, "gnark", i.Gnark, "gnark_crypto", i.GnarkCrypto}
}

// Labels returns the fields as Prometheus label names and values, in the
// order of [LabelNames].
func (i Info) Labels() []string {
	return []string{i.Version, i.Commit, i.Date, i.GoVersion, i.Gnark, i.GnarkCrypto}
}

// LabelNames names the values of [Info.Labels].
func LabelNames() []string {
	return []string{"version", "revision", "commit_date", "goversion", "gnark", "gnark_crypto"}
}
