package main

import (
	"io"

	"github.com/yinzheng-id/yinzheng/internal/buildinfo"
)

// runVersion implements `yinzheng version [--json]` (also `yinzheng
// --version`): which build this is, read from the binary's build information.
func runVersion(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", stderr)
	asJSON := fs.Bool("json", false, "print the fields as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	info := buildinfo.Read()
	if *asJSON {
		return writeJSON(stdout, versionJSON{info.Version, info.Commit, info.Date, info.GoVersion, info.Gnark, info.GnarkCrypto})
	}
	_, err := io.WriteString(stdout, info.String())
	return err
}

// versionJSON is the `version --json` document.
type versionJSON struct {
	Version     string `json:"version"`
	Commit      string `json:"commit"`
	CommitDate  string `json:"commit_date"`
	GoVersion   string `json:"go_version"`
	Gnark       string `json:"gnark"`
	GnarkCrypto string `json:"gnark_crypto"`
}
