package wire

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/yinzheng-id/yinzheng/jose"
)

// Refusals of a signed request object, besides ErrRequestObject.
var (
	// ErrUnsigned means the request is not a signed request object: not a
	// JWS, typ is not oauth-authz-req+jwt, or there is no x5c chain.
	ErrUnsigned = errors.New("wire: request is not a signed request object")
	// ErrRequestSignature means the request object's signature does not
	// verify with the public key of its x5c leaf certificate.
	ErrRequestSignature = errors.New("wire: request object signature does not verify with its x5c leaf certificate")
	// ErrClientIDNotCertified means the leaf certificate has no dNSName
	// SAN equal to the client_id's DNS name.
	ErrClientIDNotCertified = errors.New("wire: client_id is not a DNS name of the signing certificate")
)

// maxChain bounds the certificates of an x5c header.
const maxChain = 8

// SignedRequestObject is a request object whose signature verified with its
// x5c leaf and whose client_id is a DNS SAN of that leaf. The chain is not
// yet checked against any trusted root: that is the caller's (the wallet
// checks it, and the platform's registration, with the registrar's roots).
type SignedRequestObject struct {
	Object *RequestObject
	// Chain is the x5c chain, leaf first.
	Chain []*smx509.Certificate
	// Domain is the client_id's DNS name, certified by Chain[0].
	Domain string
	// Compact is the JWS as received.
	Compact string
}

// SignRequestObject signs ro with key (the private key of chain[0], the
// platform's access certificate) as a compact JWS with typ
// oauth-authz-req+jwt and the DER chain in x5c, leaf first.
func SignRequestObject(key *jose.PrivateKey, chain [][]byte, ro *RequestObject) (string, error) {
	if len(chain) == 0 {
		return "", errors.New("wire: no certificate chain to sign the request object with")
	}
	x5c := make([]string, len(chain))
	for i, der := range chain {
		x5c[i] = base64.StdEncoding.EncodeToString(der)
	}
	payload, err := json.Marshal(ro)
	if err != nil {
		return "", err
	}
	return jose.Sign(key, map[string]any{"typ": RequestObjectType, "x5c": x5c}, payload)
}

// VerifyRequestObject reads a compact request object: typ must be
// oauth-authz-req+jwt, x5c a chain of at most 8 certificates whose leaf's
// key verifies the signature (the leaf's key, never the header, chooses the
// algorithm), the payload must pass RequestObject.Check at now, and the
// client_id's DNS name must be a dNSName SAN of the leaf (x509_san_dns).
func VerifyRequestObject(compact string, now time.Time) (*SignedRequestObject, error) {
	compact = strings.TrimSpace(compact)
	j, err := jose.ParseCompact(compact)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsigned, err)
	}
	if typ, _ := j.Header["typ"].(string); typ != RequestObjectType {
		return nil, fmt.Errorf("%w: typ %q, want %q", ErrUnsigned, j.Header["typ"], RequestObjectType)
	}
	raw, ok := j.Header["x5c"].([]any)
	if !ok || len(raw) == 0 || len(raw) > maxChain {
		return nil, fmt.Errorf("%w: x5c must be an array of 1 to %d certificates", ErrUnsigned, maxChain)
	}
	chain := make([]*smx509.Certificate, len(raw))
	for i, v := range raw {
		s, ok := v.(string)
		der, err := base64.StdEncoding.Strict().DecodeString(s)
		if !ok || err != nil {
			return nil, fmt.Errorf("%w: x5c[%d] is not base64 DER", ErrUnsigned, i)
		}
		if chain[i], err = smx509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("%w: x5c[%d]: %v", ErrUnsigned, i, err)
		}
	}
	leafKey, err := jose.ParsePKIXPEM(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: chain[0].RawSubjectPublicKeyInfo}))
	if err != nil {
		return nil, fmt.Errorf("%w: x5c leaf key: %v", ErrUnsigned, err)
	}
	_, payload, err := jose.Verify(compact, leafKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequestSignature, err)
	}
	ro, err := ParseRequestObject(payload, now)
	if err != nil {
		return nil, err
	}
	domain, _ := DomainOfClientID(ro.ClientID)
	if !slices.ContainsFunc(chain[0].DNSNames, func(n string) bool { return strings.EqualFold(n, domain) }) {
		return nil, fmt.Errorf("%w: client_id %s, certificate names %v", ErrClientIDNotCertified, ro.ClientID, chain[0].DNSNames)
	}
	return &SignedRequestObject{Object: ro, Chain: chain, Domain: domain, Compact: compact}, nil
}

// DERChain returns the DER encodings of a chain, for SignRequestObject.
func DERChain(chain []*smx509.Certificate) [][]byte {
	out := make([][]byte, len(chain))
	for i, c := range chain {
		out[i] = c.Raw
	}
	return out
}
