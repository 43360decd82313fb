//go:build js && wasm

// Command wasmprove times the holder's prover built for WebAssembly: run
// under node (GOOS=js GOARCH=wasm; node wasm_exec_node.js wasmprove.wasm
// KEYS_DIR RUNS), single-threaded as in a browser's worker. It prints one
// JSON object: the milliseconds of compiling the circuit, of decoding the
// compiled circuit from its cached copy, of loading the proving key
// compressed and uncompressed, and of each proof. `yinzheng bench circuit
// --wasm` builds and runs it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/consensys/gnark/logger"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
)

func main() {
	logger.Disable() // stdout carries the JSON only
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wasmprove:", err)
		os.Exit(1)
	}
}

func ms(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

func run() error {
	if len(os.Args) != 3 {
		return fmt.Errorf("usage: wasmprove KEYS_DIR RUNS")
	}
	dir := os.Args[1]
	runs, err := strconv.Atoi(os.Args[2])
	if err != nil || runs < 1 {
		return fmt.Errorf("runs %q", os.Args[2])
	}
	out := map[string]any{}
	m, err := circuits.ReadManifest(dir)
	if err != nil {
		return err
	}
	t := time.Now()
	c, err := circuits.Compile(m.Depth)
	if err != nil {
		return err
	}
	out["compile_ms"] = ms(t)
	data, err := c.MarshalCompiled()
	if err != nil {
		return err
	}
	t = time.Now()
	if _, err := circuits.UnmarshalCompiled(data, m.Depth, c.Digest); err != nil {
		return err
	}
	out["compiled_from_cache_ms"] = ms(t)
	t = time.Now()
	if _, err := circuits.Load(dir, c, circuits.LoadOptions{AllowDevelopment: true}); err != nil {
		return err
	}
	out["proving_key_compressed_ms"] = ms(t)
	raw, err := os.ReadFile(dir + "/" + circuits.RawProvingKeyFile)
	if err != nil {
		return err
	}
	t = time.Now()
	pk, err := circuits.DecodeRawProvingKey(m, raw)
	if err != nil {
		return err
	}
	out["proving_key_uncompressed_ms"] = ms(t)
	keys, err := circuits.Load(dir, c, circuits.LoadOptions{AllowDevelopment: true, VerifyingOnly: true})
	if err != nil {
		return err
	}
	keys.PK = pk
	st, cred, err := bench.SampleCredential(m.Depth)
	if err != nil {
		return err
	}
	var proofs []float64
	for range runs {
		t = time.Now()
		proof, pseudonym, err := keys.Prove(st, cred)
		if err != nil {
			return err
		}
		proofs = append(proofs, ms(t))
		if err := keys.Verify(st, pseudonym, proof); err != nil {
			return err
		}
	}
	out["prove_ms"] = proofs
	return json.NewEncoder(os.Stdout).Encode(out)
}
