package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
)

// runCircuits implements `yinzheng circuits info [--depth N] [--keys DIR]`.
func runCircuits(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "info" {
		return usageError("usage: yinzheng circuits info [--depth N] [--keys DIR]")
	}
	fs := newFlagSet("circuits info", stderr)
	depth := fs.Int("depth", circuits.ProductionDepth, "accumulator depth the circuit is compiled for")
	keysDir := fs.String("keys", "", "keys directory (default: the development keys cache, set up when missing)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	compiled, err := circuits.Compile(*depth)
	if err != nil {
		return err
	}
	var keys *circuits.Keys
	if *keysDir != "" {
		keys, err = circuits.Load(*keysDir, compiled, circuits.LoadOptions{AllowDevelopment: true, VerifyingOnly: true})
	} else {
		dir, derr := bench.DefaultKeysDir(*depth)
		if derr != nil {
			return derr
		}
		keys, err = circuits.LoadOrSetupDevelopment(dir, compiled, func(stage string) {
			fmt.Fprintf(stderr, "circuits: development setup: %s…\n", stage)
		})
	}
	if err != nil {
		return err
	}
	m := keys.Manifest
	out := struct {
		circuits.Manifest
		ProofBytes int `json:"proof_bytes"`
	}{m, circuits.ProofSize}
	return writeJSON(stdout, out)
}

// writeJSON prints v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}
