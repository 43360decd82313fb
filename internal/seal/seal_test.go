package seal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// fast keeps the tests quick; Open reads the parameters from the header.
var fast = Params{Time: 1, Memory: 64, Threads: 1}

func TestSealOpenRoundTrip(t *testing.T) {
	pass, msg, aad := []byte("correct horse"), []byte("issuer private key"), []byte("issuer/key")
	sealed, err := SealWithParams(fast, pass, msg, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, msg) {
		t.Fatal("plaintext visible in sealed data")
	}
	got, err := Open(pass, sealed, aad)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("got %q", got)
	}
	again, err := SealWithParams(fast, pass, msg, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same plaintext are equal: salt or nonce not random")
	}
}

func TestSealDefaultParams(t *testing.T) {
	sealed, err := Seal([]byte("pw"), []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint32(sealed[6:]); got != 64*1024 {
		t.Fatalf("memory %d KiB, want 65536", got)
	}
	if _, err := Open([]byte("pw"), sealed, nil); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejects(t *testing.T) {
	pass, aad := []byte("correct horse"), []byte("aad")
	sealed, err := SealWithParams(fast, pass, []byte("secret"), aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	withParam := func(off int, v uint32) []byte {
		b := bytes.Clone(sealed)
		binary.BigEndian.PutUint32(b[off:], v)
		return b
	}
	tests := []struct {
		name   string
		pass   []byte
		sealed []byte
		aad    []byte
		want   error // nil: any error
	}{
		{"wrong passphrase", []byte("wrong horse"), sealed, aad, ErrWrongPassphrase},
		{"wrong aad", pass, sealed, []byte("other"), ErrWrongPassphrase},
		{"ciphertext flipped", pass, flip(len(sealed) - 1), aad, ErrWrongPassphrase},
		{"salt flipped", pass, flip(12), aad, ErrWrongPassphrase},
		{"nonce flipped", pass, flip(passphraseHeaderSize - 1), aad, ErrWrongPassphrase},
		{"time changed", pass, withParam(2, 2), aad, ErrWrongPassphrase},
		{"truncated", pass, sealed[:passphraseHeaderSize-1], aad, nil},
		{"bad version", pass, flip(0), aad, nil},
		{"key-sealed kind", pass, func() []byte { b := bytes.Clone(sealed); b[1] = kindKey; return b }(), aad, nil},
		{"time zero", pass, withParam(2, 0), aad, nil},
		{"time huge", pass, withParam(2, 1000), aad, nil},
		{"memory huge", pass, withParam(6, 1<<30), aad, nil},
		{"memory tiny", pass, withParam(6, 1), aad, nil},
		{"threads zero", pass, func() []byte { b := bytes.Clone(sealed); b[10] = 0; return b }(), aad, nil},
		{"no tag", pass, sealed[:passphraseHeaderSize], aad, ErrWrongPassphrase},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.pass, tc.sealed, tc.aad)
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == nil && errors.Is(err, ErrWrongPassphrase) {
				t.Fatalf("err = %v, want a specific format error", err)
			}
		})
	}
}

func TestSealRejectsBadInput(t *testing.T) {
	if _, err := SealWithParams(fast, nil, []byte("x"), nil); err == nil {
		t.Error("empty passphrase accepted")
	}
	if _, err := SealWithParams(Params{Time: 0, Memory: 64, Threads: 1}, []byte("p"), nil, nil); err == nil {
		t.Error("time 0 accepted")
	}
	if _, err := SealKey(make([]byte, 16), []byte("x"), nil); err == nil {
		t.Error("16-byte data key accepted")
	}
}

func TestSealKey(t *testing.T) {
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	msg, aad := []byte("张三 1990-01-01"), []byte("person/abc")
	sealed, err := SealKey(key, msg, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, msg) {
		t.Fatal("plaintext visible")
	}
	got, err := OpenKey(key, sealed, aad)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("OpenKey = %q, %v", got, err)
	}
	other, _ := NewKey()
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	wrongKind := bytes.Clone(sealed)
	wrongKind[1] = kindPassphrase
	for name, tc := range map[string]struct {
		key, sealed, aad []byte
		want             error
	}{
		"wrong key":  {other, sealed, aad, ErrWrongKey},
		"wrong aad":  {key, sealed, []byte("person/xyz"), ErrWrongKey},
		"flipped":    {key, flipped, aad, ErrWrongKey},
		"truncated":  {key, sealed[:5], aad, nil},
		"wrong kind": {key, wrongKind, aad, nil},
		"short key":  {key[:31], sealed, aad, nil},
	} {
		_, err := OpenKey(tc.key, tc.sealed, tc.aad)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func FuzzOpen(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzOpen holds one passphrase-sealed and one
	// key-sealed value (passphrase "pw", zero key).
	f.Fuzz(func(t *testing.T, b []byte) {
		// Keep the fuzzer's cost bounded: cap memory like a real caller would not.
		if len(b) >= 11 && binary.BigEndian.Uint32(b[6:]) > 1024 {
			return
		}
		_, _ = Open([]byte("pw"), b, nil)
		_, _ = OpenKey(make([]byte, KeySize), b, nil)
	})
}

// BenchmarkOpenDefault measures unlocking with DefaultParams (Argon2id
// t=3, m=64 MiB, p=2): the cost of every issuer or wallet command.
func BenchmarkOpenDefault(b *testing.B) {
	sealed, err := Seal([]byte("pw"), []byte("key material"), nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Open([]byte("pw"), sealed, nil); err != nil {
			b.Fatal(err)
		}
	}
}
