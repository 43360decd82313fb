package jose

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/pem"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// PEM block types.
const (
	pemPrivate = "PRIVATE KEY" // PKCS#8 (RFC 5208)
	pemPublic  = "PUBLIC KEY"  // PKIX SubjectPublicKeyInfo (RFC 5280)
)

// MarshalPKCS8PEM returns k as an unencrypted PKCS#8 "PRIVATE KEY" PEM block.
// SM2 keys use the id-ecPublicKey algorithm with the SM2 curve OID
// 1.2.156.10197.1.301, as GM/T 0010 and OpenSSL do. Treat the output as
// secret.
func (k *PrivateKey) MarshalPKCS8PEM() ([]byte, error) {
	if k == nil || k.pub == nil {
		return nil, fmt.Errorf("%w: nil private key", ErrKey)
	}
	var (
		der []byte
		err error
	)
	if k.sm2 != nil {
		der, err = smx509.MarshalPKCS8PrivateKey(k.sm2)
	} else {
		der, err = smx509.MarshalPKCS8PrivateKey(k.p256)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: PKCS#8 encoding failed", ErrKey)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Bytes: der}), nil
}

// ParsePKCS8PEM parses one unencrypted PKCS#8 "PRIVATE KEY" PEM block holding
// an SM2 or P-256 key. Other key types and curves are refused with ErrKey.
func ParsePKCS8PEM(data []byte) (*PrivateKey, error) {
	der, err := singlePEM(data, pemPrivate)
	if err != nil {
		return nil, err
	}
	key, err := smx509.ParsePKCS8PrivateKey(der)
	if err != nil {
		// The parser's message can quote the input, so it is not repeated.
		return nil, fmt.Errorf("%w: not a valid PKCS#8 private key", ErrKey)
	}
	// Rebuild from the scalar so the range and the public point are checked
	// exactly as for a JWK.
	switch key := key.(type) {
	case *sm2.PrivateKey:
		e, err := key.ECDH()
		if err != nil {
			return nil, fmt.Errorf("%w: invalid SM2 private key", ErrKey)
		}
		return newPrivateKey(SuiteGM, e.Bytes())
	case *ecdsa.PrivateKey:
		if key.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: unsupported curve %s (want P-256 or SM2)", ErrKey, key.Curve.Params().Name)
		}
		d, err := key.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: invalid P-256 private key", ErrKey)
		}
		return newPrivateKey(SuiteIntl, d)
	default:
		return nil, fmt.Errorf("%w: unsupported PKCS#8 key type %T (want SM2 or P-256)", ErrKey, key)
	}
}

// MarshalPKIXPEM returns k as a PKIX "PUBLIC KEY" PEM block.
func (k *PublicKey) MarshalPKIXPEM() ([]byte, error) {
	if k == nil || k.key == nil {
		return nil, fmt.Errorf("%w: nil public key", ErrKey)
	}
	der, err := smx509.MarshalPKIXPublicKey(k.key)
	if err != nil {
		return nil, fmt.Errorf("%w: PKIX encoding failed: %v", ErrKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: der}), nil
}

// ParsePKIXPEM parses one PKIX "PUBLIC KEY" PEM block holding an SM2 or P-256
// public key.
func ParsePKIXPEM(data []byte) (*PublicKey, error) {
	der, err := singlePEM(data, pemPublic)
	if err != nil {
		return nil, err
	}
	key, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: not a valid PKIX public key: %v", ErrKey, err)
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: unsupported PKIX key type %T (want SM2 or P-256)", ErrKey, key)
	}
	switch pub.Curve {
	case sm2.P256():
		e, err := sm2.PublicKeyToECDH(pub)
		if err != nil {
			return nil, fmt.Errorf("%w: invalid SM2 public key", ErrKey)
		}
		return newPublicKey(SuiteGM, e.Bytes())
	case elliptic.P256():
		point, err := pub.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: invalid P-256 public key", ErrKey)
		}
		return newPublicKey(SuiteIntl, point)
	default:
		return nil, fmt.Errorf("%w: unsupported curve %s (want P-256 or SM2)", ErrKey, pub.Curve.Params().Name)
	}
}

// singlePEM decodes exactly one PEM block of the given type. Text around it
// (other than whitespace) is refused so that a file cannot carry a second
// key that some other tool would pick instead.
func singlePEM(data []byte, typ string) ([]byte, error) {
	if len(data) > maxJWKSize {
		return nil, fmt.Errorf("%w: PEM is %d bytes, limit %d", ErrTooLarge, len(data), maxJWKSize)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN ")) {
		return nil, fmt.Errorf("%w: input does not start with a PEM block", ErrMalformed)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrMalformed)
	}
	if block.Type != typ {
		return nil, fmt.Errorf("%w: PEM block is %q, want %q", ErrMalformed, block.Type, typ)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("%w: PEM block has headers (encrypted keys are not supported)", ErrMalformed)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: data after the PEM block", ErrMalformed)
	}
	return block.Bytes, nil
}
