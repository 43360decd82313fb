package jose

import (
	"crypto/rand"
	"errors"
	"math/big"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// zaWithID computes Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A
// || y_A) (GB/T 32918.2 §5.5) for any ID, the empty one included: gmsm's
// public API substitutes its default for an empty ID, and this test needs a
// signature made with exactly the empty ID.
func zaWithID(t *testing.T, pub *PublicKey, id []byte) []byte {
	t.Helper()
	p := sm2.P256().Params()
	a := new(big.Int).Sub(p.P, big.NewInt(3)) // the SM2 curve has a = p - 3
	h := sm3.New()
	bits := len(id) * 8
	h.Write([]byte{byte(bits >> 8), byte(bits)})
	h.Write(id)
	for _, v := range []*big.Int{a, p.B, p.Gx, p.Gy} {
		h.Write(v.FillBytes(make([]byte, coordSize)))
	}
	h.Write(pub.x())
	h.Write(pub.y())
	return h.Sum(nil)
}

// signWithID signs e = SM3(Z_A || M) for the given signer ID.
func signWithID(t *testing.T, k *PrivateKey, id, msg []byte) []byte {
	t.Helper()
	h := sm3.New()
	h.Write(zaWithID(t, k.pub, id))
	h.Write(msg)
	der, err := k.sm2.Sign(rand.Reader, h.Sum(nil), nil) // nil opts: the digest is signed as given
	if err != nil {
		t.Fatal(err)
	}
	raw, err := derToRaw(der)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestSM2SignerIDIsPinned checks that "SM2" JWS use exactly SM2SignerID:
// a signature with the profile's ID verifies, one over the same input with
// the empty ID (what a GM/T 0009-2023 reading would pick) or another ID is
// refused, and SignRaw signs with the profile's ID, spelled out here so that
// a change of gmsm's default cannot go unnoticed.
func TestSM2SignerIDIsPinned(t *testing.T) {
	if SM2SignerID != "1234567812345678" {
		t.Fatalf("SM2SignerID = %q: changing it breaks every token already issued (docs/jose-sm2-profile.md)", SM2SignerID)
	}
	k, err := GenerateKey(SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("eyJhbGciOiJTTTIifQ.eyJzdWIiOiJkZW1vIn0")
	if err := k.Public().VerifyRaw(msg, signWithID(t, k, []byte("1234567812345678"), msg)); err != nil {
		t.Fatalf("a signature with signer ID 1234567812345678 is refused: %v", err)
	}
	for name, id := range map[string][]byte{"empty ID": {}, "another ID": []byte("1234567812345679")} {
		if err := k.Public().VerifyRaw(msg, signWithID(t, k, id, msg)); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", name, err)
		}
	}
	ours, err := k.SignRaw(msg)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1Signature(ours)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(k.pub.key, []byte("1234567812345678"), msg, der) {
		t.Error("SignRaw does not sign with signer ID 1234567812345678")
	}
	// The hand-built Z_A agrees with gmsm's for a non-empty ID, so the
	// empty-ID case above really differs only by the ID.
	za, err := sm2.CalculateZA(k.pub.key, []byte("1234567812345678"))
	if err != nil || string(za) != string(zaWithID(t, k.pub, []byte("1234567812345678"))) {
		t.Fatalf("Z_A mismatch: %v", err)
	}
}
