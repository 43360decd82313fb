package registry

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/yinzheng-id/yinzheng/jose"
)

// maxChain bounds the certificates of a chain: a leaf, at most two
// intermediates and, optionally, the root.
const maxChain = 4

// signerOf returns key as a crypto.Signer for smx509 (an *sm2.PrivateKey
// or an *ecdsa.PrivateKey), through its PKCS#8 encoding, so that the jose
// package keeps its private scalar unexported.
func signerOf(key *jose.PrivateKey) (crypto.Signer, error) {
	p, err := key.MarshalPKCS8PEM()
	if err != nil {
		return nil, err
	}
	defer clear(p)
	block, _ := pem.Decode(p)
	if block == nil {
		return nil, errors.New("registry: the key's PKCS#8 encoding does not decode")
	}
	defer clear(block.Bytes)
	k, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("registry: the key's PKCS#8 encoding: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("registry: a %T is not a signer", k)
	}
	return s, nil
}

// PublicKeyOf returns the public key of cert as a jose key (SM2 or P-256;
// other keys are refused), to verify what the certificate's holder signed.
func PublicKeyOf(cert *smx509.Certificate) (*jose.PublicKey, error) {
	der, err := smx509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: the certificate's public key: %v", ErrFormat, err)
	}
	k, err := jose.ParsePKIXPEM(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		return nil, fmt.Errorf("%w: the certificate's public key: %v", ErrFormat, err)
	}
	return k, nil
}

// serialNumber returns a random positive 127-bit serial (RFC 5280 allows
// up to 20 octets; random serials keep certificates unpredictable).
func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

// createRoot returns the registrar's self-signed root certificate.
func createRoot(key *jose.PrivateKey, name string, notBefore, notAfter time.Time) (*smx509.Certificate, error) {
	signer, err := signerOf(key)
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	tmpl := &smx509.Certificate{
		SerialNumber: serial,
		Subject:      pkixName(name),
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		// The root signs certificates and, as the registrar key, the
		// registrations and the status list.
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign | smx509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// One level of subordinate CA is allowed, so that a registrar can
		// later issue from an online intermediate and keep the root off line.
		MaxPathLen: 1,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("registry: creating the root certificate: %w", err)
	}
	return smx509.ParseCertificate(der)
}

// createLeaf returns a certificate for pub signed by the CA (caCert,
// caKey): the platform's access certificate (DNS SAN the domain,
// digitalSignature) or, with serverAuth, a TLS server certificate.
func createLeaf(caCert *smx509.Certificate, caKey *jose.PrivateKey, pub crypto.PublicKey, domain string, notBefore, notAfter time.Time, serverAuth bool) (*smx509.Certificate, error) {
	signer, err := signerOf(caKey)
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	tmpl := &smx509.Certificate{
		SerialNumber:          serial,
		Subject:               pkixName(domain),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              smx509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  false,
		DNSNames:              []string{domain},
	}
	if serverAuth {
		tmpl.ExtKeyUsage = []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth}
		if domain == LoopbackDomain {
			// Loopback clients often dial the address, not the name.
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		}
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, caCert, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("registry: creating the certificate for %s: %w", domain, err)
	}
	return smx509.ParseCertificate(der)
}

// newTLSKey returns a fresh P-256 key: TLS stacks (crypto/tls, browsers)
// take ECDSA P-256 keys, not SM2 ones, whatever the registrar's suite.
func newTLSKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// EncodeCertificates returns certs as consecutive PEM "CERTIFICATE" blocks.
func EncodeCertificates(certs ...*smx509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// ParseCertificates parses one or more PEM "CERTIFICATE" blocks (and
// nothing else: any other block or trailing non-space text is refused),
// in order.
func ParseCertificates(data []byte) ([]*smx509.Certificate, error) {
	var out []*smx509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: a %q PEM block where a CERTIFICATE was expected", ErrFormat, block.Type)
		}
		c, err := smx509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		out = append(out, c)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: text after the last certificate", ErrFormat)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no PEM CERTIFICATE block", ErrFormat)
	}
	return out, nil
}

// X5C returns chain as a JWS "x5c" value: the standard base64 (not
// base64url) DER of each certificate, leaf first (RFC 7515 §4.1.6).
func X5C(chain []*smx509.Certificate) []string {
	out := make([]string, len(chain))
	for i, c := range chain {
		out[i] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	return out
}

// ParseX5C parses a JWS "x5c" value (RFC 7515 §4.1.6): standard base64 DER
// certificates, leaf first, at most four.
func ParseX5C(x5c []string) ([]*smx509.Certificate, error) {
	if len(x5c) == 0 || len(x5c) > maxChain {
		return nil, fmt.Errorf("%w: x5c has %d certificates, want 1 to %d", ErrFormat, len(x5c), maxChain)
	}
	out := make([]*smx509.Certificate, len(x5c))
	for i, s := range x5c {
		der, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%w: x5c[%d] is not base64: %v", ErrFormat, i, err)
		}
		if out[i], err = smx509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("%w: x5c[%d]: %v", ErrFormat, i, err)
		}
	}
	return out, nil
}

// Fingerprint returns the SHA-256 of cert's DER in hex, the form people
// compare when pinning a root.
func Fingerprint(cert *smx509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return fmt.Sprintf("%x", sum)
}

// pkixName is the subject of the registrar's certificates: a common name
// only. Trust never depends on it (the wallet compares the DNS SAN and the
// pinned root); it is there for people reading the certificate.
func pkixName(cn string) pkix.Name { return pkix.Name{CommonName: cn} }
