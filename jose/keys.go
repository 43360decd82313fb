package jose

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
)

// Suite names a cryptographic suite.
type Suite string

// The two suites.
const (
	SuiteGM   Suite = "gm"   // SM2 / SM3 / SM4
	SuiteIntl Suite = "intl" // ES256 (P-256) / SHA-256 / AES-GCM
)

// JWS algorithm names.
const (
	// AlgSM2 is SM2 with SM3 over Z_A||M, default signer ID, 64-byte r||s.
	AlgSM2 = "SM2"
	// AlgES256 is ECDSA on P-256 with SHA-256 (RFC 7518 §3.4).
	AlgES256 = "ES256"
)

// SM2SignerID is the signer ID (ID_A in Z_A) of every "SM2" JWS: the
// 16 ASCII bytes "1234567812345678", the default user identity ID of
// GM/T 0009. It is passed to gmsm explicitly, never left to gmsm's default
// for an empty ID, so that the profile cannot change with a library update;
// docs/jose-sm2-profile.md ("Signer ID") records why this value and not the
// empty ID.
const SM2SignerID = "1234567812345678"

// JWK curve names.
const (
	crvSM2  = "SM2"
	crvP256 = "P-256"
)

const (
	coordSize     = 32              // bytes in a coordinate, a scalar, r and s
	pointSize     = 1 + 2*coordSize // uncompressed SEC 1 point 0x04||X||Y
	signatureSize = 2 * coordSize   // r||s
)

// suiteParams describes a suite's curve and names.
type suiteParams struct {
	alg   string
	crv   string
	order *big.Int
}

func paramsOf(s Suite) (suiteParams, error) {
	switch s {
	case SuiteGM:
		return suiteParams{alg: AlgSM2, crv: crvSM2, order: sm2.P256().Params().N}, nil
	case SuiteIntl:
		return suiteParams{alg: AlgES256, crv: crvP256, order: elliptic.P256().Params().N}, nil
	default:
		return suiteParams{}, fmt.Errorf("%w: unknown suite %q (want %q or %q)", ErrKey, s, SuiteGM, SuiteIntl)
	}
}

// PrivateKey is an SM2 or P-256 signing key. Its String, GoString and Format
// methods never reveal the private scalar.
type PrivateKey struct {
	pub  *PublicKey
	p256 *ecdsa.PrivateKey // set for SuiteIntl
	sm2  *sm2.PrivateKey   // set for SuiteGM
}

// PublicKey is the public half of a PrivateKey.
type PublicKey struct {
	suite Suite
	key   *ecdsa.PublicKey
	point []byte // uncompressed 0x04||X||Y, validated
}

// GenerateKey returns a new key for suite, reading randomness from rand (nil
// means crypto/rand.Reader).
func GenerateKey(suite Suite, random io.Reader) (*PrivateKey, error) {
	if random == nil {
		random = rand.Reader
	}
	switch suite {
	case SuiteGM:
		k, err := sm2.GenerateKey(random)
		if err != nil {
			return nil, fmt.Errorf("jose: generating SM2 key: %w", err)
		}
		return fromSM2(k)
	case SuiteIntl:
		k, err := ecdsa.GenerateKey(elliptic.P256(), random)
		if err != nil {
			return nil, fmt.Errorf("jose: generating P-256 key: %w", err)
		}
		return fromP256(k)
	default:
		_, err := paramsOf(suite)
		return nil, err
	}
}

// newPublicKey validates an uncompressed point for suite: right length and
// form, on the curve, not the identity (which has no uncompressed encoding).
func newPublicKey(suite Suite, point []byte) (*PublicKey, error) {
	if len(point) != pointSize || point[0] != 4 {
		return nil, fmt.Errorf("%w: public point is not a %d-byte uncompressed point", ErrKey, pointSize)
	}
	var (
		key *ecdsa.PublicKey
		err error
	)
	switch suite {
	case SuiteGM:
		key, err = sm2.NewPublicKey(point)
	case SuiteIntl:
		key, err = ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	default:
		_, err = paramsOf(suite)
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: public point is not on the %s curve", ErrKey, suiteCurveName(suite))
	}
	return &PublicKey{suite: suite, key: key, point: bytes.Clone(point)}, nil
}

func suiteCurveName(s Suite) string {
	if s == SuiteGM {
		return crvSM2
	}
	return crvP256
}

// newPrivateKey builds a key from a 32-byte big-endian scalar, which must be
// in the curve's range ([1, n-1] for P-256, [1, n-2] for SM2).
func newPrivateKey(suite Suite, d []byte) (*PrivateKey, error) {
	if len(d) != coordSize {
		return nil, fmt.Errorf("%w: private scalar is %d bytes, want %d", ErrKey, len(d), coordSize)
	}
	switch suite {
	case SuiteGM:
		k, err := sm2.NewPrivateKey(d)
		if err != nil {
			return nil, fmt.Errorf("%w: SM2 private scalar out of range", ErrKey)
		}
		return fromSM2(k)
	case SuiteIntl:
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
		if err != nil {
			return nil, fmt.Errorf("%w: P-256 private scalar out of range", ErrKey)
		}
		return fromP256(k)
	default:
		_, err := paramsOf(suite)
		return nil, err
	}
}

func fromSM2(k *sm2.PrivateKey) (*PrivateKey, error) {
	pub, err := sm2.PublicKeyToECDH(&k.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: SM2 public key: %v", ErrKey, err)
	}
	p, err := newPublicKey(SuiteGM, pub.Bytes())
	if err != nil {
		return nil, err
	}
	return &PrivateKey{pub: p, sm2: k}, nil
}

func fromP256(k *ecdsa.PrivateKey) (*PrivateKey, error) {
	point, err := k.PublicKey.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: P-256 public key: %v", ErrKey, err)
	}
	p, err := newPublicKey(SuiteIntl, point)
	if err != nil {
		return nil, err
	}
	return &PrivateKey{pub: p, p256: k}, nil
}

// scalar returns the 32-byte private scalar.
func (k *PrivateKey) scalar() ([]byte, error) {
	if k.sm2 != nil {
		e, err := k.sm2.ECDH()
		if err != nil {
			return nil, fmt.Errorf("%w: SM2 private key: %v", ErrKey, err)
		}
		return e.Bytes(), nil
	}
	d, err := k.p256.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: P-256 private key: %v", ErrKey, err)
	}
	return d, nil
}

// Public returns the public half of k (nil for a nil or zero key).
func (k *PrivateKey) Public() *PublicKey {
	if k == nil {
		return nil
	}
	return k.pub
}

// Suite returns the suite of k ("" for a nil or zero key).
func (k *PrivateKey) Suite() Suite { return k.Public().Suite() }

// Alg returns the JWS algorithm of k: AlgSM2 or AlgES256 ("" for a nil or
// zero key).
func (k *PrivateKey) Alg() string { return k.Public().Alg() }

// Suite returns the suite of k ("" for a nil or zero key).
func (k *PublicKey) Suite() Suite {
	if k == nil {
		return ""
	}
	return k.suite
}

// Alg returns the JWS algorithm of k: AlgSM2 or AlgES256 ("" for a nil or
// zero key).
func (k *PublicKey) Alg() string {
	switch k.Suite() {
	case SuiteGM:
		return AlgSM2
	case SuiteIntl:
		return AlgES256
	default:
		return ""
	}
}

// Equal reports whether k and other are the same key of the same suite.
func (k *PublicKey) Equal(other *PublicKey) bool {
	if k == nil || other == nil {
		return k == other
	}
	return k.suite == other.suite && k.point != nil && bytes.Equal(k.point, other.point)
}

// x and y return the coordinates, 32 bytes each.
func (k *PublicKey) x() []byte { return k.point[1 : 1+coordSize] }
func (k *PublicKey) y() []byte { return k.point[1+coordSize:] }

// String describes k by suite and key id, never by private material.
func (k PrivateKey) String() string {
	if k.pub == nil {
		return "jose.PrivateKey(invalid)"
	}
	return fmt.Sprintf("jose.PrivateKey(%s, kid %s, private part redacted)", k.pub.suite, k.pub.KeyID())
}

// GoString is String, so that %#v does not print the private scalar.
func (k PrivateKey) GoString() string { return k.String() }

// Format prints String for every verb, so that no formatting verb (%v, %+v,
// %#v, %x, …) can reach the private scalar through reflection.
func (k PrivateKey) Format(f fmt.State, verb rune) {
	_, _ = io.WriteString(f, k.String())
}

// SignRaw signs a JWS signing input and returns the 64-byte r||s signature.
// SM2 signs SM3(Z_A||M) with the default signer ID; ES256 signs SHA-256(M).
// Randomness comes from crypto/rand.
func (k *PrivateKey) SignRaw(signingInput []byte) ([]byte, error) {
	if k == nil || k.pub == nil {
		return nil, fmt.Errorf("%w: nil private key", ErrKey)
	}
	var (
		der []byte
		err error
	)
	if k.sm2 != nil {
		der, err = k.sm2.SignWithSM2(rand.Reader, []byte(SM2SignerID), signingInput)
	} else {
		digest := sha256.Sum256(signingInput)
		der, err = ecdsa.SignASN1(rand.Reader, k.p256, digest[:])
	}
	if err != nil {
		return nil, fmt.Errorf("jose: signing with %s: %w", k.Alg(), err)
	}
	return derToRaw(der)
}

// VerifyRaw checks a 64-byte r||s signature over a JWS signing input.
func (k *PublicKey) VerifyRaw(signingInput, signature []byte) error {
	if k == nil || k.key == nil {
		return fmt.Errorf("%w: nil public key", ErrKey)
	}
	if len(signature) != signatureSize {
		return fmt.Errorf("%w: signature is %d bytes, want %d (r||s)", ErrSignature, len(signature), signatureSize)
	}
	params, err := paramsOf(k.suite)
	if err != nil {
		return err
	}
	r := new(big.Int).SetBytes(signature[:coordSize])
	s := new(big.Int).SetBytes(signature[coordSize:])
	if r.Sign() == 0 || r.Cmp(params.order) >= 0 {
		return fmt.Errorf("%w: r is not in [1, n-1]", ErrSignature)
	}
	if s.Sign() == 0 || s.Cmp(params.order) >= 0 {
		return fmt.Errorf("%w: s is not in [1, n-1]", ErrSignature)
	}
	der, err := asn1Signature(signature)
	if err != nil {
		return fmt.Errorf("%w: encoding signature: %v", ErrSignature, err)
	}
	var ok bool
	if k.suite == SuiteGM {
		ok = sm2.VerifyASN1WithSM2(k.key, []byte(SM2SignerID), signingInput, der)
	} else {
		digest := sha256.Sum256(signingInput)
		ok = ecdsa.VerifyASN1(k.key, digest[:], der)
	}
	if !ok {
		return fmt.Errorf("%w: %s signature does not verify", ErrSignature, k.Alg())
	}
	return nil
}

// ecdsaSignature is the ASN.1 form that both ecdsa and gmsm/sm2 use.
type ecdsaSignature struct {
	R, S *big.Int
}

// asn1Signature converts r||s into the ASN.1 form the verifiers take.
func asn1Signature(raw []byte) ([]byte, error) {
	if len(raw) != signatureSize {
		return nil, fmt.Errorf("signature is %d bytes, want %d", len(raw), signatureSize)
	}
	return asn1.Marshal(ecdsaSignature{
		R: new(big.Int).SetBytes(raw[:coordSize]),
		S: new(big.Int).SetBytes(raw[coordSize:]),
	})
}

// derToRaw converts an ASN.1 signature from a signer into r||s.
func derToRaw(der []byte) ([]byte, error) {
	var sig ecdsaSignature
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("jose: signer returned a malformed ASN.1 signature")
	}
	if sig.R.Sign() <= 0 || sig.S.Sign() <= 0 || sig.R.BitLen() > 8*coordSize || sig.S.BitLen() > 8*coordSize {
		return nil, errors.New("jose: signer returned r or s out of range")
	}
	out := make([]byte, signatureSize)
	sig.R.FillBytes(out[:coordSize])
	sig.S.FillBytes(out[coordSize:])
	return out, nil
}
