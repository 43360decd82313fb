package circuits

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
)

// cloneKey returns a deep copy of k's proving key, through its encoding.
func cloneKey(t *testing.T, k *Keys) *groth16bn254.ProvingKey {
	t.Helper()
	raw, err := EncodeRawProvingKey(k.PK)
	if err != nil {
		t.Fatal(err)
	}
	pk := &groth16bn254.ProvingKey{}
	if _, err := pk.UnsafeReadFrom(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	return pk
}

func TestRawProvingKeyIsUsedAndChecked(t *testing.T) {
	dir, k := saveTestKeys(t)
	if _, err := Load(dir, k.Compiled, LoadOptions{AllowDevelopment: true, KeepUncompressed: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, RawProvingKeyFile)); err != nil {
		t.Fatalf("no uncompressed copy after a load that keeps one: %v", err)
	}
	// Without the compressed key, only the copy can have been read.
	compressed, _ := os.ReadFile(filepath.Join(dir, provingKeyFile))
	if err := os.Remove(filepath.Join(dir, provingKeyFile)); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(dir, k.Compiled, LoadOptions{AllowDevelopment: true, KeepUncompressed: true})
	if err != nil {
		t.Fatalf("load from the uncompressed copy: %v", err)
	}
	f := newFixture(t, testDepth, 0)
	proof, pseudonym := proveFixture(t, loaded, f)
	if err := k.Verify(&f.st, pseudonym, proof); err != nil {
		t.Fatalf("proof from the uncompressed copy rejected: %v", err)
	}

	// A damaged copy is refused and rebuilt from the compressed key.
	raw, _ := os.ReadFile(filepath.Join(dir, RawProvingKeyFile))
	bad := bytes.Clone(raw)
	bad[len(bad)/2] ^= 0x40
	os.WriteFile(filepath.Join(dir, RawProvingKeyFile), bad, 0o600)
	os.WriteFile(filepath.Join(dir, provingKeyFile), compressed, 0o600)
	if _, err := DecodeRawProvingKey(k.Manifest, bad); !errors.Is(err, ErrCacheMismatch) {
		t.Fatalf("damaged copy: %v, want ErrCacheMismatch", err)
	}
	if _, err := Load(dir, k.Compiled, LoadOptions{AllowDevelopment: true, KeepUncompressed: true}); err != nil {
		t.Fatalf("load with a damaged copy: %v", err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, RawProvingKeyFile)); !bytes.Equal(again, raw) {
		t.Fatal("the damaged copy was not rebuilt")
	}
}

// TestRawProvingKeyOffCurve attacks the on-curve check alone: a point moved
// off the curve keeps its x coordinate and the sign bit of y, so the
// compressed re-encoding, hence the digest, is unchanged.
func TestRawProvingKeyOffCurve(t *testing.T) {
	k := keysForTest(t)
	var want bytes.Buffer
	k.PK.WriteTo(&want)
	pk := cloneKey(t, k)
	orig := pk.G1.A[0].Y
	var one = orig
	one.SetOne()
	// Move y by a few units until the compression flag (y's lexicographic
	// class) is the same as before: then only the curve check can tell.
	for i := 0; ; i++ {
		if i == 16 {
			t.Fatal("no nearby y keeps the compression flag")
		}
		pk.G1.A[0].Y.Add(&pk.G1.A[0].Y, &one)
		var got bytes.Buffer
		pk.WriteTo(&got)
		if bytes.Equal(got.Bytes(), want.Bytes()) {
			break
		}
	}
	raw, err := EncodeRawProvingKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeRawProvingKey(k.Manifest, raw); !errors.Is(err, ErrCacheMismatch) {
		t.Fatalf("off-curve point: %v, want ErrCacheMismatch", err)
	}
}

// TestRawProvingKeyOtherKey attacks the digest check: a valid key that is
// not the manifest's (one point negated, still on the curve).
func TestRawProvingKeyOtherKey(t *testing.T) {
	k := keysForTest(t)
	pk := cloneKey(t, k)
	pk.G1.A[1].Neg(&pk.G1.A[1])
	raw, err := EncodeRawProvingKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeRawProvingKey(k.Manifest, raw); !errors.Is(err, ErrCacheMismatch) {
		t.Fatalf("another key: %v, want ErrCacheMismatch", err)
	}
	good, _ := EncodeRawProvingKey(k.PK)
	if _, err := DecodeRawProvingKey(k.Manifest, good); err != nil {
		t.Fatalf("the key itself: %v", err)
	}
}

func TestCompileCached(t *testing.T) {
	k := keysForTest(t)
	dir := t.TempDir()
	digest := k.Compiled.Digest
	c, err := CompileCached(testDepth, dir, digest)
	if err != nil || c.Digest != digest {
		t.Fatalf("first compile: %v (digest %s, want %s)", err, c.Digest, digest)
	}
	path := CompiledCacheFile(dir, testDepth, digest)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no cached circuit: %v", err)
	}
	cached, err := UnmarshalCompiled(data, testDepth, digest)
	if err != nil {
		t.Fatal(err)
	}
	// The cached circuit proves with the keys made for the compiled one.
	f := newFixture(t, testDepth, 0)
	proof, pseudonym := proveFixture(t, &Keys{Manifest: k.Manifest, Compiled: cached, PK: k.PK, VK: k.VK}, f)
	if err := k.Verify(&f.st, pseudonym, proof); err != nil {
		t.Fatalf("proof from the cached circuit rejected: %v", err)
	}

	// A copy that does not hash to the digest is refused, removed, and
	// rebuilt by a fresh compile.
	bad := bytes.Clone(data)
	bad[len(bad)/3] ^= 1
	if _, err := UnmarshalCompiled(bad, testDepth, digest); !errors.Is(err, ErrCacheMismatch) {
		t.Fatalf("damaged circuit: %v, want ErrCacheMismatch", err)
	}
	os.WriteFile(path, bad, 0o600)
	c, err = CompileCached(testDepth, dir, digest)
	if err != nil || c.Digest != digest {
		t.Fatalf("compile over a damaged copy: %v", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, data) {
		t.Fatal("the damaged copy was not rebuilt")
	}
	// A digest the circuit does not have is never stored.
	other := t.TempDir()
	if _, err := CompileCached(testDepth, other, "zNotTheDigest"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(other); len(entries) != 0 {
		t.Fatalf("a circuit was cached under a digest it does not have: %v", entries)
	}
}
