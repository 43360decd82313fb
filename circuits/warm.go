package circuits

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	cs "github.com/consensys/gnark/constraint/bn254"
	"github.com/emmansun/gmsm/sm3"

	"github.com/yinzheng-id/yinzheng/internal/atomicfile"
)

// A warm prover keeps two things between runs that are slow to rebuild: the
// proving key without point compression (decompressing every point costs a
// square root; on a phone or in WebAssembly that is most of a second), and
// the compiled constraint system. Neither copy is trusted for being there:
// each is checked at load against the digest the manifest publishes, and a
// copy that fails is rebuilt from the checked original, never used.

// RawProvingKeyFile is the name, in a keys directory, of the proving key's
// uncompressed copy (gnark's WriteRawTo encoding of the same key).
const RawProvingKeyFile = "proving.key.raw"

// maxRawProvingKey bounds the uncompressed copy: points take twice the room.
const maxRawProvingKey = 2*maxProvingKey + 1<<20

// maxCompiledBytes bounds a cached constraint system.
const maxCompiledBytes = 256 << 20

// ErrCacheMismatch reports a cached copy (uncompressed proving key,
// compiled circuit) that is not what the manifest's digest names: it is
// refused and rebuilt from the checked original.
var ErrCacheMismatch = errors.New("circuits: cached copy does not match its manifest")

// DecodeRawProvingKey decodes an uncompressed proving key and checks that it
// is the key m names: every point is on its curve (the raw encoding carries
// both coordinates, and the decoder checks neither) and the key's canonical,
// compressed encoding hashes to m.ProvingKeyDigest. A point on the curve is
// fixed by its compressed encoding, so the key decoded is exactly the one
// the manifest's digest names; recompressing costs no square root, only
// the hash, which is why this is fast where decompressing is not.
func DecodeRawProvingKey(m Manifest, raw []byte) (groth16.ProvingKey, error) {
	pk := &groth16bn254.ProvingKey{}
	if _, err := pk.UnsafeReadFrom(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("%w: uncompressed proving key: %v", ErrCacheMismatch, err)
	}
	if !rawPointsOnCurve(pk) {
		return nil, fmt.Errorf("%w: the uncompressed proving key has a point off the curve", ErrCacheMismatch)
	}
	h := sm3.New()
	if _, err := pk.WriteTo(h); err != nil {
		return nil, fmt.Errorf("circuits: encode proving key: %w", err)
	}
	if d := multibaseID(h.Sum(nil)); d != m.ProvingKeyDigest {
		return nil, fmt.Errorf("%w: the uncompressed proving key has digest %s, the manifest says %s", ErrCacheMismatch, d, m.ProvingKeyDigest)
	}
	return pk, nil
}

// rawPointsOnCurve reports whether every point of pk is on its curve. The
// point at infinity passes (the key has some, flagged in InfinityA/B).
func rawPointsOnCurve(pk *groth16bn254.ProvingKey) bool {
	g1 := func(ps ...bn254.G1Affine) bool {
		for i := range ps {
			if !ps[i].IsOnCurve() {
				return false
			}
		}
		return true
	}
	g2 := func(ps ...bn254.G2Affine) bool {
		for i := range ps {
			if !ps[i].IsOnCurve() {
				return false
			}
		}
		return true
	}
	ok := g1(pk.G1.Alpha, pk.G1.Beta, pk.G1.Delta) && g1(pk.G1.A...) && g1(pk.G1.B...) &&
		g1(pk.G1.Z...) && g1(pk.G1.K...) && g2(pk.G2.Beta, pk.G2.Delta) && g2(pk.G2.B...)
	for i := range pk.CommitmentKeys {
		ok = ok && g1(pk.CommitmentKeys[i].Basis...) && g1(pk.CommitmentKeys[i].BasisExpSigma...)
	}
	return ok
}

// EncodeRawProvingKey returns the uncompressed encoding of a proving key,
// the form DecodeRawProvingKey reads.
func EncodeRawProvingKey(pk groth16.ProvingKey) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := pk.WriteRawTo(&buf); err != nil {
		return nil, fmt.Errorf("circuits: encode proving key: %w", err)
	}
	return buf.Bytes(), nil
}

// loadRawProvingKey reads dir's uncompressed copy for m, or fails.
func loadRawProvingKey(dir string, m Manifest) (groth16.ProvingKey, error) {
	raw, err := readLimited(filepath.Join(dir, RawProvingKeyFile), maxRawProvingKey)
	if err != nil {
		return nil, err
	}
	return DecodeRawProvingKey(m, raw)
}

// keepRawProvingKey writes the uncompressed copy beside the keys. A cache
// that cannot be written (a read-only directory) only costs speed.
func keepRawProvingKey(dir string, pk groth16.ProvingKey) {
	raw, err := EncodeRawProvingKey(pk)
	if err == nil {
		_ = atomicfile.Write(filepath.Join(dir, RawProvingKeyFile), raw)
	}
}

// MarshalCompiled returns the serialized constraint system, the bytes
// whose SM3 digest is c.Digest.
func (c *Compiled) MarshalCompiled() ([]byte, error) {
	var buf bytes.Buffer
	if _, err := c.CS.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("circuits: encode constraint system: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalCompiled decodes a constraint system that MarshalCompiled wrote
// and that must be the circuit of depth whose digest is digest (a
// manifest's CircuitDigest): bytes with another digest are refused with
// ErrCacheMismatch before they are decoded.
func UnmarshalCompiled(data []byte, depth int, digest string) (*Compiled, error) {
	if !validDepth(depth) {
		return nil, fmt.Errorf("circuits: depth %d has no circuit", depth)
	}
	if d := multibaseID(sm3Sum(data)); d != digest {
		return nil, fmt.Errorf("%w: compiled circuit has digest %s, want %s", ErrCacheMismatch, d, digest)
	}
	ccs := groth16.NewCS(ecc.BN254)
	if _, err := ccs.ReadFrom(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%w: compiled circuit: %v", ErrCacheMismatch, err)
	}
	if _, ok := ccs.(*cs.R1CS); !ok {
		return nil, fmt.Errorf("%w: compiled circuit is %T, want a BN254 R1CS", ErrCacheMismatch, ccs)
	}
	return &Compiled{Depth: depth, CS: ccs, Digest: digest}, nil
}

// CompiledCacheFile is where CompileCached keeps the circuit of depth with
// the given digest, under dir: named by both, so that circuits of other
// depths or gnark versions never share a file.
func CompiledCacheFile(dir string, depth int, digest string) string {
	return filepath.Join(dir, fmt.Sprintf("%s-v%d-d%d-%s.ccs", CircuitName, CircuitVersion, depth, digest))
}

// CompileCached returns the presentation circuit for depth. With digest
// (the CircuitDigest of the manifest of the keys it will be used with) and
// a copy in dir that hashes to it, the copy is decoded (some ten times
// faster than compiling); otherwise the circuit is compiled and, when its
// digest is the one asked for, stored in dir for next time. A copy that
// does not hash to the digest is never used. The result's digest is
// checked against the manifest again by Load, as for a fresh compile.
func CompileCached(depth int, dir, digest string) (*Compiled, error) {
	if dir != "" && digest != "" && IsDigestName(digest) {
		path := CompiledCacheFile(dir, depth, digest)
		if data, err := readLimited(path, maxCompiledBytes); err == nil {
			c, err := UnmarshalCompiled(data, depth, digest)
			if err == nil {
				return c, nil
			}
			_ = os.Remove(path) // a bad copy is rebuilt, never used
		}
	}
	c, err := Compile(depth)
	if err != nil {
		return nil, err
	}
	if dir != "" && c.Digest == digest && IsDigestName(digest) {
		if data, err := c.MarshalCompiled(); err == nil && os.MkdirAll(dir, 0o700) == nil {
			_ = atomicfile.Write(CompiledCacheFile(dir, depth, digest), data)
		}
	}
	return c, nil
}

// IsDigestName reports whether s is plain multibase base58btc text (a
// circuit id or digest), safe to use as one path element: what a manifest
// or a page names is checked with it before it becomes a file name.
func IsDigestName(s string) bool {
	if len(s) < 2 || len(s) > 128 || s[0] != 'z' {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
