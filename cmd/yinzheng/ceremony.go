package main

import (
	"encoding/hex"
	"fmt"
	"io"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/ceremony"
)

const ceremonyUsage = `usage:
  yinzheng ceremony init --dir CDIR [--depth N]
  yinzheng ceremony contribute --dir CDIR
  yinzheng ceremony next --dir CDIR --beacon HEX
  yinzheng ceremony finalize --dir CDIR --beacon HEX --out KEYDIR
  yinzheng ceremony verify --dir CDIR`

// runCeremony implements `yinzheng ceremony`: the multi-party setup of the
// circuit keys (package circuits/ceremony). CDIR travels between
// contributors; beacons are public random values drawn after the last
// contribution of their phase.
func runCeremony(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, ceremonyUsage)
		return usageError("ceremony: missing subcommand")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintln(stderr, ceremonyUsage)
		return nil
	}
	fs := newFlagSet("ceremony "+sub, stderr)
	dir := fs.String("dir", "", "ceremony directory")
	var (
		depth  *int
		beacon *string
		out    *string
	)
	switch sub {
	case "init":
		depth = fs.Int("depth", circuits.ProductionDepth, "accumulator depth of the circuit")
	case "next", "finalize":
		beacon = fs.String("beacon", "", "public random beacon, hex")
		if sub == "finalize" {
			out = fs.String("out", "", "directory for the keys and the transcript")
		}
	case "contribute", "verify":
	default:
		fmt.Fprintln(stderr, ceremonyUsage)
		return usageError("ceremony: unknown subcommand %q", sub)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usageError("ceremony %s: --dir is required", sub)
	}
	var beaconBytes []byte
	if beacon != nil {
		b, err := hex.DecodeString(*beacon)
		if err != nil || len(b) == 0 {
			return usageError("ceremony %s: --beacon must be a non-empty hex string", sub)
		}
		beaconBytes = b
	}
	if out != nil && *out == "" {
		return usageError("ceremony finalize: --out is required")
	}

	p := newProgress(stderr)
	defer p.stop()
	switch sub {
	case "init":
		if err := ceremony.Init(*dir, *depth, p.stage); err != nil {
			return err
		}
		return writeJSON(stdout, struct {
			Dir   string `json:"dir"`
			Depth int    `json:"depth"`
			Phase int    `json:"phase"`
		}{*dir, *depth, 1})
	case "contribute":
		c, err := ceremony.Contribute(*dir, p.stage)
		if err != nil {
			return err
		}
		return writeJSON(stdout, c)
	case "next":
		if err := ceremony.Next(*dir, beaconBytes, p.stage); err != nil {
			return err
		}
		return writeJSON(stdout, struct {
			Dir   string `json:"dir"`
			Phase int    `json:"phase"`
		}{*dir, 2})
	case "finalize":
		k, err := ceremony.Finalize(*dir, beaconBytes, *out, p.stage)
		if err != nil {
			return err
		}
		return writeJSON(stdout, struct {
			Out              string `json:"out"`
			CircuitID        string `json:"circuit_id"`
			TranscriptDigest string `json:"transcript_digest"`
		}{*out, k.Manifest.CircuitID, k.Manifest.TranscriptDigest})
	default: // verify
		r, err := ceremony.Verify(*dir, p.stage)
		if err != nil {
			return err
		}
		return writeJSON(stdout, r)
	}
}
