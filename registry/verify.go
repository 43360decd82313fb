package registry

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// ClockSkew is how far in the future a registration's nbf or a status
// list's iat may be: the registrar's and the wallet's clocks differ.
// Expiry gets no tolerance.
const ClockSkew = time.Minute

// registrationClaims are the claims of a registration+jwt.
type registrationClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Iat int64  `json:"iat"`
	Nbf int64  `json:"nbf"`
	Exp int64  `json:"exp"`
	Cnf cnf    `json:"cnf"`
	Entitlements
	Status statusClaim `json:"status"`
}

// cnf binds the registration to the access certificate's key (RFC 7800).
type cnf struct {
	JWK *jose.PublicKey `json:"jwk"`
}

// statusClaim is the Token Status List reference of a registration.
type statusClaim struct {
	StatusList statusRef `json:"status_list"`
}

type statusRef struct {
	Idx uint64 `json:"idx"`
	URI string `json:"uri"`
}

// normalised returns e with empty lists instead of nil ones, so that a
// registration always carries every member.
func (e Entitlements) normalised() Entitlements {
	e.Predicates = append([]string{}, e.Predicates...)
	e.Claims = append([]string{}, e.Claims...)
	e.ResponseURIs = append([]string{}, e.ResponseURIs...)
	return e
}

// Registration is a verified registration: the platform the access
// certificate names and what the registrar entitled it to.
type Registration struct {
	// Domain is the platform's domain: the certificate's only DNS name
	// and the registration's sub. A wallet derives the pseudonym scope and
	// the client_id (x509_san_dns:Domain) from it.
	Domain string
	// Entitlements are what the platform may ask for.
	Entitlements Entitlements
	// Registrar is the registrar's identifier (the registration's iss).
	Registrar string
	// IssuedAt, NotBefore and NotAfter are the registration's iat, nbf
	// and exp.
	IssuedAt, NotBefore, NotAfter time.Time
	// StatusIndex and StatusURI locate the registration in the
	// registrar's status list.
	StatusIndex uint64
	StatusURI   string
	// StatusChecked says whether a status list was checked; false only
	// with VerifyOptions.AllowMissingStatus and no status given.
	StatusChecked bool
	// Leaf is the access certificate; Key is its public key, which signs
	// the platform's requests.
	Leaf *smx509.Certificate
	Key  *jose.PublicKey
	// Root is the pinned registrar root the chain verified to.
	Root *smx509.Certificate
}

// Roots is a pinned set of registrar root certificates.
type Roots struct {
	certs []*smx509.Certificate
	pool  *smx509.CertPool
}

// NewRoots pins certs. Each must be a self-signed CA certificate (its
// signature checks with its own key) with an SM2 or P-256 key.
func NewRoots(certs ...*smx509.Certificate) (*Roots, error) {
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no root certificate", ErrFormat)
	}
	r := &Roots{pool: smx509.NewCertPool()}
	for _, c := range certs {
		if !c.IsCA || !c.BasicConstraintsValid {
			return nil, fmt.Errorf("%w: root %q is not a CA certificate", ErrFormat, c.Subject.CommonName)
		}
		if err := c.CheckSignatureFrom(c); err != nil {
			return nil, fmt.Errorf("%w: root %q is not self-signed: %v", ErrFormat, c.Subject.CommonName, err)
		}
		if _, err := PublicKeyOf(c); err != nil {
			return nil, err
		}
		r.certs = append(r.certs, c)
		r.pool.AddCert(c)
	}
	return r, nil
}

// LoadRoots pins the root certificates of one or more PEM CERTIFICATE
// blocks (a registrar's public/root.pem, or several concatenated).
func LoadRoots(pemBytes []byte) (*Roots, error) {
	certs, err := ParseCertificates(pemBytes)
	if err != nil {
		return nil, err
	}
	return NewRoots(certs...)
}

// Certificates returns the pinned roots.
func (r *Roots) Certificates() []*smx509.Certificate { return slices.Clone(r.certs) }

// PEM returns the pinned roots as PEM.
func (r *Roots) PEM() []byte { return EncodeCertificates(r.certs...) }

// VerifyOptions adjust VerifyPlatformWithOptions.
type VerifyOptions struct {
	// AllowMissingStatus accepts an empty status token: the registration
	// is then not checked for revocation (Registration.StatusChecked is
	// false). Wallets leave it false; a platform reading its own files
	// (LoadPlatform) sets it.
	AllowMissingStatus bool
}

// VerifyPlatform is VerifyPlatformWithOptions with the zero options: a
// status token is required.
func VerifyPlatform(chain []*smx509.Certificate, registrationJWT string, status string, roots *Roots, now time.Time) (*Registration, error) {
	return VerifyPlatformWithOptions(chain, registrationJWT, status, roots, now, VerifyOptions{})
}

// VerifyPlatformWithOptions checks a platform's access certificate chain
// (leaf first), its registration and the stapled registration status list
// against pinned roots at now, and returns the verified registration:
//
//   - the chain verifies to a pinned root (X.509 path validation: the
//     signatures, every certificate's validity at now, CA flags and path
//     lengths of the issuers); the leaf is not a CA and may sign
//     (digitalSignature) — else ErrUntrustedChain (with ErrExpired for an
//     expired certificate);
//   - the leaf carries exactly one DNS name and no other name (ErrFormat);
//   - the registration is a registration+jwt signed by the key of the root
//     the chain verified to (ErrRegistrationSignature), its sub is the
//     leaf's DNS name (ErrDomainMismatch), its cnf key is the leaf's key
//     (ErrKeyMismatch), its entitlements follow the rules (ErrFormat), and
//     now is within nbf (less ClockSkew) and exp (ErrNotYetValid,
//     ErrExpired);
//   - the status token (required unless opts.AllowMissingStatus:
//     ErrStatusMissing) is signed by that same registrar key
//     (ErrStatusSignature), is the list the registration refers to and
//     covers its index (ErrStatusList), is before its exp (ErrStatusStale)
//     and does not mark the registration revoked (ErrRevoked).
func VerifyPlatformWithOptions(chain []*smx509.Certificate, registrationJWT string, status string, roots *Roots, now time.Time, opts VerifyOptions) (*Registration, error) {
	if roots == nil || len(roots.certs) == 0 {
		return nil, fmt.Errorf("%w: no pinned registrar root", ErrUntrustedChain)
	}
	if len(chain) == 0 || len(chain) > maxChain || slices.Contains(chain, nil) {
		return nil, fmt.Errorf("%w: a chain of %d certificates, want 1 to %d", ErrFormat, len(chain), maxChain)
	}
	leaf := chain[0]
	inter := smx509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(smx509.VerifyOptions{
		Roots: roots.pool, Intermediates: inter, CurrentTime: now,
		// Access certificates carry no extended key usage; the registrar's
		// CA flags and the registration decide what they are for.
		KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny},
	})
	if err != nil {
		var invalid smx509.CertificateInvalidError
		if errors.As(err, &invalid) && invalid.Reason == smx509.Expired {
			return nil, fmt.Errorf("%w: %w: %v", ErrUntrustedChain, ErrExpired, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrUntrustedChain, err)
	}
	if leaf.IsCA || leaf.KeyUsage&smx509.KeyUsageDigitalSignature == 0 {
		return nil, fmt.Errorf("%w: the access certificate is a CA certificate or lacks digitalSignature", ErrUntrustedChain)
	}
	if len(leaf.DNSNames) != 1 || len(leaf.IPAddresses) != 0 || len(leaf.EmailAddresses) != 0 || len(leaf.URIs) != 0 {
		return nil, fmt.Errorf("%w: the access certificate must name exactly one DNS name and nothing else", ErrFormat)
	}
	leafKey, err := PublicKeyOf(leaf)
	if err != nil {
		return nil, err
	}

	jws, err := jose.ParseCompact(registrationJWT)
	if err != nil {
		return nil, fmt.Errorf("%w: the registration: %v", ErrFormat, err)
	}
	if typ, _ := jws.Header["typ"].(string); typ != RegistrationType {
		return nil, fmt.Errorf("%w: the registration's typ is %v, want %q", ErrFormat, jws.Header["typ"], RegistrationType)
	}
	// The chain may verify to more than one pinned root (cross-signed
	// roots); the registration must be signed by the key of one of them,
	// and the status list by the same.
	var root *smx509.Certificate
	var rootKey *jose.PublicKey
	var payload []byte
	for _, ch := range chains {
		c := ch[len(ch)-1]
		k, err := PublicKeyOf(c)
		if err != nil {
			continue
		}
		if _, p, err := jose.Verify(registrationJWT, k); err == nil {
			root, rootKey, payload = c, k, p
			break
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w (for %s)", ErrRegistrationSignature, leaf.DNSNames[0])
	}
	var c registrationClaims
	if err := strictjson.Unmarshal(payload, maxFile, &c); err != nil {
		return nil, fmt.Errorf("%w: the registration's claims: %v", ErrFormat, err)
	}
	switch {
	case c.Sub != leaf.DNSNames[0]:
		return nil, fmt.Errorf("%w: the certificate names %q, the registration %q", ErrDomainMismatch, leaf.DNSNames[0], c.Sub)
	case c.Cnf.JWK == nil || !c.Cnf.JWK.Equal(leafKey):
		return nil, fmt.Errorf("%w (%s)", ErrKeyMismatch, c.Sub)
	case c.Iss == "" || c.Iat <= 0 || c.Nbf <= 0 || c.Exp <= c.Nbf || c.Status.StatusList.URI == "":
		return nil, fmt.Errorf("%w: the registration of %s lacks iss, iat, nbf, exp (after nbf) or a status reference", ErrFormat, c.Sub)
	}
	if err := c.Entitlements.Check(c.Sub); err != nil {
		return nil, fmt.Errorf("%w: the registration of %s: %v", ErrFormat, c.Sub, err)
	}
	reg := &Registration{
		Domain: c.Sub, Entitlements: c.Entitlements.normalised(), Registrar: c.Iss,
		IssuedAt: time.Unix(c.Iat, 0).UTC(), NotBefore: time.Unix(c.Nbf, 0).UTC(), NotAfter: time.Unix(c.Exp, 0).UTC(),
		StatusIndex: c.Status.StatusList.Idx, StatusURI: c.Status.StatusList.URI,
		Leaf: leaf, Key: leafKey, Root: root,
	}
	switch {
	case now.Add(ClockSkew).Before(reg.NotBefore):
		return nil, fmt.Errorf("%w: %s is registered from %s", ErrNotYetValid, reg.Domain, reg.NotBefore.Format(time.RFC3339))
	case !now.Before(reg.NotAfter):
		return nil, fmt.Errorf("%w: the registration of %s expired at %s", ErrExpired, reg.Domain, reg.NotAfter.Format(time.RFC3339))
	}

	if status == "" {
		if opts.AllowMissingStatus {
			return reg, nil
		}
		return nil, fmt.Errorf("%w for %s", ErrStatusMissing, reg.Domain)
	}
	if err := checkStatus(status, rootKey, reg, now); err != nil {
		return nil, err
	}
	reg.StatusChecked = true
	return reg, nil
}

// checkStatus checks the stapled status list token for reg.
func checkStatus(status string, rootKey *jose.PublicKey, reg *Registration, now time.Time) error {
	// The signature first and on its own, so that a list from another key
	// is told apart from a stale or foreign one.
	if _, _, err := jose.Verify(status, rootKey); err != nil {
		return fmt.Errorf("%w (%s): %v", ErrStatusSignature, reg.Domain, err)
	}
	l, err := revocation.ParseStatusListToken(status, rootKey, reg.StatusURI, now)
	switch {
	case errors.Is(err, revocation.ErrStatusListExpired):
		return fmt.Errorf("%w: %v", ErrStatusStale, err)
	case err != nil:
		return fmt.Errorf("%w: %v", ErrStatusList, err)
	case l.Expires.IsZero():
		return fmt.Errorf("%w: the status list has no exp, so its freshness cannot be judged", ErrStatusList)
	case now.Add(ClockSkew).Before(l.IssuedAt):
		return fmt.Errorf("%w: the status list is issued in the future (%s)", ErrStatusList, l.IssuedAt.Format(time.RFC3339))
	}
	st, err := l.Status(reg.StatusIndex)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStatusList, err)
	}
	if st != revocation.Valid {
		return fmt.Errorf("%w: %s (status list of %s)", ErrRevoked, reg.Domain, l.IssuedAt.Format(time.RFC3339))
	}
	return nil
}

// pemBlock encodes one PEM block.
func pemBlock(typ string, der []byte) []byte {
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: typ, Bytes: der})
	return b.Bytes()
}
