package oid4vpcheck

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"hash"
	"math/big"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// jws is a compact JWS split and decoded (RFC 7515 §7.1).
type jws struct {
	header       object
	payload      []byte
	signingInput string
	signature    []byte
}

var b64 = base64.RawURLEncoding.Strict()

// parseJWS splits a compact JWS: three base64url parts without padding,
// a JSON object header without duplicate names, and a payload.
func parseJWS(compact string) (*jws, error) {
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: %d parts, want 3", ErrJWS, len(parts))
	}
	hdr, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: header is not base64url", ErrJWS)
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64url", ErrJWS)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("%w: signature is empty or not base64url", ErrJWS)
	}
	h, err := parseObject(hdr, ErrJWS)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	return &jws{header: h, payload: payload, signingInput: parts[0] + "." + parts[1], signature: sig}, nil
}

// algorithm is an accepted JWS alg: the curve of its key and its hash
// (nil for SM2, whose digest is SM3 over Z_A‖M inside gmsm).
type algorithm struct {
	curve elliptic.Curve
	hash  func() hash.Hash
	size  int // bytes of r and of s
}

// algorithms returns the asymmetric algorithms the wallet accepts: ES256,
// ES384, ES512 (RFC 7518 §3.4) and, when configured, an SM2 name.
// OpenID4VP fixes no algorithm; symmetric ones (HS*) cannot authenticate a
// verifier by its certificate and "none" is unsigned.
func (w *Wallet) algorithms() map[string]algorithm {
	m := map[string]algorithm{
		"ES256": {elliptic.P256(), sha256.New, 32},
		"ES384": {elliptic.P384(), sha512.New384, 48},
		"ES512": {elliptic.P521(), sha512.New, 66},
	}
	if w.SM2Alg != "" {
		m[w.SM2Alg] = algorithm{curve: sm2.P256(), size: 32}
	}
	return m
}

// maxChain bounds x5c.
const maxChain = 10

// verifyX5C checks a request object's signature the x509 way: alg, no
// crit, an x5c chain (leaf first) that validates to the wallet's roots at
// now, a leaf allowed to sign, and the signature under the leaf's key.
func (w *Wallet) verifyX5C(j *jws, now time.Time) ([]*smx509.Certificate, error) {
	alg, ok, err := j.header.str("alg")
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: alg missing or not a string", ErrAlg)
	}
	a, known := w.algorithms()[alg]
	if !known {
		return nil, fmt.Errorf("%w: %q", ErrAlg, alg)
	}
	if j.header.has("crit") {
		return nil, fmt.Errorf("%w: %s", ErrCrit, j.header["crit"])
	}
	raw, ok := array(j.header["x5c"])
	if !ok || len(raw) == 0 || len(raw) > maxChain {
		return nil, fmt.Errorf("%w: want an array of 1 to %d certificates", ErrX5C, maxChain)
	}
	chain := make([]*smx509.Certificate, len(raw))
	for i, el := range raw {
		var s string
		if kind(el) != "string" || jsonString(el, &s) != nil {
			return nil, fmt.Errorf("%w: x5c[%d] is not a string", ErrX5C, i)
		}
		// RFC 7515 §4.1.6: base64 (not base64url) of the DER.
		der, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%w: x5c[%d] is not base64", ErrX5C, i)
		}
		if chain[i], err = smx509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("%w: x5c[%d]: %v", ErrX5C, i, err)
		}
	}
	leaf := chain[0]
	inter := smx509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if w.Roots == nil {
		return nil, fmt.Errorf("%w: the wallet has no roots", ErrChain)
	}
	if _, err := leaf.Verify(smx509.VerifyOptions{Roots: w.Roots, Intermediates: inter, CurrentTime: now,
		// No extended key usage is defined for request signing: accept
		// any, but a KeyUsage, when present, must allow signatures.
		KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChain, err)
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&smx509.KeyUsageDigitalSignature == 0 {
		return nil, fmt.Errorf("%w: KeyUsage %#x", ErrKeyUsage, leaf.KeyUsage)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != a.curve {
		return nil, fmt.Errorf("%w: alg %s, leaf key %T", ErrAlgKey, alg, leaf.PublicKey)
	}
	if err := verifySignature(a, pub, w.sm2SignerID(), []byte(j.signingInput), j.signature); err != nil {
		return nil, err
	}
	return chain, nil
}

// verifySignature checks an r‖s JWS signature (RFC 7518 §3.4; the SM2
// profile uses the same 64-byte form).
func verifySignature(a algorithm, pub *ecdsa.PublicKey, uid, input, sig []byte) error {
	if len(sig) != 2*a.size {
		return fmt.Errorf("%w: %d signature bytes, want %d", ErrSignature, len(sig), 2*a.size)
	}
	r, s := new(big.Int).SetBytes(sig[:a.size]), new(big.Int).SetBytes(sig[a.size:])
	if a.hash == nil {
		der, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil || !sm2.VerifyASN1WithSM2(pub, uid, input, der) {
			return ErrSignature
		}
		return nil
	}
	h := a.hash()
	h.Write(input)
	if !ecdsa.Verify(pub, h.Sum(nil), r, s) {
		return ErrSignature
	}
	return nil
}

func jsonString(raw []byte, s *string) error {
	o := object{"v": raw}
	v, _, err := o.str("v")
	*s = v
	return err
}
