package main

import (
	"encoding/json"
	"flag"
	"io"

	"github.com/yinzheng-id/yinzheng/revocation"
)

const revocationUsage = `usage:
  yinzheng revocation witness --dir DIR --serial N    the serial's path (JSON)
  yinzheng revocation delta --dir DIR --epoch E       the delta of epoch E (JSON)
  yinzheng revocation bucket --dir DIR --serial N --k K
                                                     the 2^K leaves around N and the path above (JSON)`

// runRevocation implements `yinzheng revocation witness|delta|bucket`. It
// opens the accumulator read-only, so it never changes the store.
func runRevocation(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("%s", revocationUsage)
	}
	sub := args[0]
	fs := newFlagSet("revocation "+sub, stderr)
	dir := fs.String("dir", "", "accumulator directory")
	var serial, epoch *uint64
	var k *int
	switch sub {
	case "witness":
		serial = fs.Uint64("serial", 0, "credential serial")
	case "delta":
		epoch = fs.Uint64("epoch", 0, "published epoch (1, 2, …)")
	case "bucket":
		serial = fs.Uint64("serial", 0, "credential serial")
		k = fs.Int("k", 5, "bucket of k tree levels (4^k leaves)")
	default:
		return usageError("unknown subcommand %q\n%s", sub, revocationUsage)
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return usageError("--dir is required")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range map[string][]string{"witness": {"serial"}, "delta": {"epoch"}, "bucket": {"serial", "k"}}[sub] {
		if !set[name] {
			return usageError("--%s is required", name)
		}
	}
	s, err := revocation.Open(*dir, revocation.Options{ReadOnly: true, MemTableSize: 8 << 20})
	if err != nil {
		return err
	}
	defer s.Close()
	var out any
	switch sub {
	case "witness":
		out, err = s.Path(*serial)
	case "delta":
		out, err = s.Delta(*epoch)
	case "bucket":
		out, err = s.Bucket(*serial, *k)
	}
	if err != nil {
		return err
	}
	return jsonEncoder(stdout).Encode(out)
}

// jsonEncoder returns an encoder that indents by two spaces.
func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc
}
