package schemas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"unicode/utf8"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/emmansun/gmsm/sm3"
)

// Domain separation tags of the hashes to the field. Each names the version
// of the encoding and the kind of value, so no two uses share a hash.
const (
	// IdentityDST is the tag of the identity element.
	IdentityDST = "yinzheng:v1:wangzheng/v1:identity"
	// ScopeDST is the tag of a verifier scope.
	ScopeDST = "yinzheng:v1:scope"
	// NonceDST is the tag of a request nonce.
	NonceDST = "yinzheng:v1:nonce"
)

// hashToFieldBytes is L in RFC 9380 section 5: ceil((ceil(log2(r)) + k) / 8)
// with log2(r) = 254 and security k = 128, so that the bias of reducing
// mod r is below 2^-128.
const hashToFieldBytes = 48

// Limits on the inputs of ScopeElement and NonceElement.
const (
	// MaxScopeBytes is the longest scope accepted.
	MaxScopeBytes = 1024
	// MinNonceBytes is the shortest nonce accepted: 128 bits.
	MinNonceBytes = 16
	// MaxNonceBytes is the longest nonce accepted.
	MaxNonceBytes = 1024
)

// HashToField hashes msg to one BN254 scalar, as RFC 9380 hash_to_field
// with count 1: expand_message_xmd over SM3 (b_in_bytes 32, s_in_bytes 64)
// to 48 bytes, read as a big-endian integer and reduced mod r. The tag must
// be 1 to 255 bytes long.
func HashToField(dst string, msg []byte) (fr.Element, error) {
	if err := checkDST(dst); err != nil {
		return fr.Element{}, err
	}
	return hashToField(dst, msg), nil
}

// hashToField is HashToField for a tag already checked.
func hashToField(dst string, msg []byte) fr.Element {
	var e fr.Element
	e.SetBytes(expandMessageXMD(sm3.New, msg, []byte(dst), hashToFieldBytes))
	return e
}

// checkDST enforces RFC 9380's bounds on a domain separation tag; longer
// tags would need the H2C-OVERSIZE-DST reduction, which nothing here uses.
func checkDST(dst string) error {
	if len(dst) == 0 || len(dst) > 255 {
		return fmt.Errorf("domain separation tag must be 1 to 255 bytes, got %d", len(dst))
	}
	return nil
}

// expandMessageXMD is expand_message_xmd of RFC 9380 section 5.3.1 over the
// hash newHash returns. The caller guarantees 1 <= len(dst) <= 255 and
// 1 <= lenInBytes <= 255 * the hash's output size (and 65535).
func expandMessageXMD(newHash func() hash.Hash, msg, dst []byte, lenInBytes int) []byte {
	h := newHash()
	bIn := h.Size()
	ell := (lenInBytes + bIn - 1) / bIn
	dstPrime := append(append([]byte{}, dst...), byte(len(dst)))

	// b_0 = H(Z_pad || msg || I2OSP(len_in_bytes, 2) || I2OSP(0, 1) || DST_prime)
	h.Write(make([]byte, h.BlockSize()))
	h.Write(msg)
	h.Write([]byte{byte(lenInBytes >> 8), byte(lenInBytes), 0})
	h.Write(dstPrime)
	b0 := h.Sum(nil)

	// b_i = H(strxor(b_0, b_(i-1)) || I2OSP(i, 1) || DST_prime), b_1 with b_0 alone.
	out := make([]byte, 0, ell*bIn)
	prev := make([]byte, bIn)
	for i := 1; i <= ell; i++ {
		for j := range prev {
			prev[j] ^= b0[j]
		}
		h.Reset()
		h.Write(prev)
		h.Write([]byte{byte(i)})
		h.Write(dstPrime)
		prev = h.Sum(prev[:0])
		out = append(out, prev...)
	}
	return out[:lenInBytes]
}

// ScopeElement hashes a verifier scope (such as the platform's origin) to
// the field under ScopeDST. The scope is UTF-8 text, 1 to MaxScopeBytes bytes.
func ScopeElement(scope string) (fr.Element, error) {
	if scope == "" {
		return fr.Element{}, errors.New("scope is empty")
	}
	if len(scope) > MaxScopeBytes {
		return fr.Element{}, fmt.Errorf("scope is %d bytes, more than %d", len(scope), MaxScopeBytes)
	}
	if !utf8.ValidString(scope) {
		return fr.Element{}, errors.New("scope is not valid UTF-8")
	}
	return hashToField(ScopeDST, []byte(scope)), nil
}

// NonceElement hashes a request nonce to the field under NonceDST. The nonce
// is MinNonceBytes to MaxNonceBytes bytes.
func NonceElement(nonce []byte) (fr.Element, error) {
	if len(nonce) < MinNonceBytes || len(nonce) > MaxNonceBytes {
		return fr.Element{}, fmt.Errorf("nonce is %d bytes, want %d to %d", len(nonce), MinNonceBytes, MaxNonceBytes)
	}
	return hashToField(NonceDST, nonce), nil
}

// appendLP appends LP(s) = I2OSP(len(s), 4) || s.
func appendLP(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
