package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func sample() *debug.BuildInfo {
	return &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/yinzheng-id/yinzheng", Version: "v1.2.3"},
		Deps: []*debug.Module{
			{Path: GnarkModule, Version: "v0.16.3"},
			{Path: GnarkCryptoModule, Version: "v0.21.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v0.21.1"}},
			{Path: "github.com/consensys/gnark-other", Version: "v9.9.9"},
		},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"},
			{Key: "vcs.time", Value: "2026-11-30T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
}

func TestFromBuildInfo(t *testing.T) {
	got := FromBuildInfo(sample())
	want := Info{Version: "v1.2.3", Commit: "0123abcd-dirty", Date: "2026-11-30T10:00:00Z",
		GoVersion: "go1.26.8", Gnark: "v0.16.3", GnarkCrypto: "v0.21.1"}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if len(got.Labels()) != len(LabelNames()) || len(got.LogAttrs()) != 2*len(LabelNames()) {
		t.Fatal("labels, label names and log attributes disagree in length")
	}
	for _, field := range []string{"v1.2.3", "0123abcd-dirty", "2026-11-30T10:00:00Z", "go1.26.8", "v0.16.3", "v0.21.1"} {
		if !strings.Contains(got.String(), field) {
			t.Errorf("String() lacks %q:\n%s", field, got)
		}
	}
}

func TestFromBuildInfoCleanTree(t *testing.T) {
	bi := sample()
	bi.Settings[2].Value = "false"
	if got := FromBuildInfo(bi).Commit; got != "0123abcd" {
		t.Fatalf("commit %q, want no -dirty suffix for a clean tree", got)
	}
}

func TestFromBuildInfoMissing(t *testing.T) {
	got := FromBuildInfo(nil)
	if got.Version != Unknown || got.Commit != Unknown || got.Gnark != Unknown || got.GoVersion == "" {
		t.Fatalf("got %+v", got)
	}
	// No VCS stamp: no commit, and no "-dirty" glued to Unknown.
	bi := sample()
	bi.Settings = []debug.BuildSetting{{Key: "vcs.modified", Value: "true"}}
	if got := FromBuildInfo(bi); got.Commit != Unknown || got.Date != Unknown {
		t.Fatalf("got %+v", got)
	}
}

func TestReadInTestBinary(t *testing.T) {
	// This package's test binary links neither gnark nor a VCS stamp; what
	// it always records is the main module path and the Go version.
	if got := Read(); got.GoVersion == "" || got.Version == "" {
		t.Fatalf("Read() = %+v", got)
	}
}
