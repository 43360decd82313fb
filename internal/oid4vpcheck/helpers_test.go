package oid4vpcheck

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

const (
	testDomain   = "verifier.example"
	testClientID = PrefixX509SANDNS + testDomain
	testNonce    = "n-0S6_WzA2Mj-0S6_WzA2Mj-0S6_WzA2Mj"
	testState    = "st4te-0123456789abcdefghij"
)

var testNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// pki is a test CA and a leaf for testDomain, of P-256 (ES256) or SM2.
type pki struct {
	sm2      bool
	roots    *smx509.CertPool
	leafDER  []byte
	leafKey  crypto.Signer
	rootDER  []byte
	caKey    crypto.Signer
	caCert   *x509.Certificate
	caCertSM *smx509.Certificate
}

func newKey(t *testing.T, useSM2 bool) crypto.Signer {
	t.Helper()
	if useSM2 {
		k, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newPKI(t *testing.T, useSM2 bool) *pki {
	t.Helper()
	p := &pki{sm2: useSM2, caKey: newKey(t, useSM2), leafKey: newKey(t, useSM2)}
	root := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test registrar"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true}
	p.rootDER = p.create(t, root, nil, p.caKey)
	p.leafDER = p.issue(t, p.leafKey, []string{testDomain}, x509.KeyUsageDigitalSignature)
	p.roots = smx509.NewCertPool()
	c, err := smx509.ParseCertificate(p.rootDER)
	if err != nil {
		t.Fatal(err)
	}
	p.roots.AddCert(c)
	return p
}

// create signs tmpl with signer (the CA key; self-signed for the first
// certificate, the root) for pub.
func (p *pki) create(t *testing.T, tmpl *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) []byte {
	t.Helper()
	if pub == nil {
		pub = signer.Public()
	}
	if p.sm2 {
		parent := smTemplate(tmpl)
		if p.caCertSM != nil {
			parent = p.caCertSM
		}
		der, err := smx509.CreateCertificate(rand.Reader, smTemplate(tmpl), parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		if p.caCertSM == nil {
			p.caCertSM, _ = smx509.ParseCertificate(der)
		}
		return der
	}
	parent := tmpl
	if p.caCert != nil {
		parent = p.caCert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	if p.caCert == nil {
		p.caCert, _ = x509.ParseCertificate(der)
	}
	return der
}

// smTemplate converts the fields the tests use.
func smTemplate(c *x509.Certificate) *smx509.Certificate {
	return &smx509.Certificate{SerialNumber: c.SerialNumber, Subject: c.Subject, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		KeyUsage: smx509.KeyUsage(c.KeyUsage), BasicConstraintsValid: c.BasicConstraintsValid, IsCA: c.IsCA, DNSNames: c.DNSNames}
}

// issue makes a leaf for key with the DNS names and key usage.
func (p *pki) issue(t *testing.T, key crypto.Signer, names []string, ku x509.KeyUsage) []byte {
	t.Helper()
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	return p.create(t, &x509.Certificate{SerialNumber: n, Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(12 * time.Hour), KeyUsage: ku, DNSNames: names}, key.Public(), p.caKey)
}

func (p *pki) alg() string {
	if p.sm2 {
		return "SM2"
	}
	return "ES256"
}

func (p *pki) wallet() *Wallet {
	return &Wallet{Roots: p.roots, SM2Alg: "SM2", Now: func() time.Time { return testNow }}
}

// sign returns the compact JWS of header and payload (each a map or raw
// JSON bytes) signed with key.
func sign(t *testing.T, key crypto.Signer, header, payload any) string {
	t.Helper()
	enc := func(v any) string {
		if b, ok := v.([]byte); ok {
			return base64.RawURLEncoding.EncodeToString(b)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(payload)
	var der []byte
	var err error
	switch k := key.(type) {
	case *sm2.PrivateKey:
		der, err = k.SignWithSM2(rand.Reader, []byte(DefaultSM2SignerID), []byte(input))
	case *ecdsa.PrivateKey:
		d := sha256.Sum256([]byte(input))
		der, err = ecdsa.SignASN1(rand.Reader, k, d[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// validHeader and validPayload are a request object every check accepts.
func (p *pki) validHeader() map[string]any {
	return map[string]any{"typ": RequestObjectType, "alg": p.alg(), "x5c": []string{base64.StdEncoding.EncodeToString(p.leafDER)}}
}

func validPayload() map[string]any {
	return map[string]any{
		"aud": SelfIssuedAudience, "iat": testNow.Unix(), "exp": testNow.Add(5 * time.Minute).Unix(),
		"client_id": testClientID, "response_type": "vp_token", "response_mode": "direct_post",
		"response_uri": "https://" + testDomain + "/openid4vp/response", "nonce": testNonce, "state": testState,
		"dcql_query": map[string]any{"credentials": []any{map[string]any{
			"id": "pid", "format": FormatSDJWTVC, "meta": map[string]any{"vct_values": []string{"urn:example:pid"}},
			"claims": []any{map[string]any{"path": []any{"age_over_18"}}},
		}}},
		"client_metadata": map[string]any{"vp_formats_supported": map[string]any{
			FormatSDJWTVC: map[string]any{"sd-jwt_alg_values": []string{"ES256"}, "kb-jwt_alg_values": []string{"ES256"}}}},
		"verifier_info": []any{map[string]any{"format": "registration+jwt", "data": "eyJ.e30.sig", "credential_ids": []string{"pid"}}},
	}
}

// jsonOf round-trips v, for nested edits.
func jsonOf(t *testing.T, v any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(v)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func b64json(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sdJWT builds an SD-JWT+KB presentation with the given KB-JWT header and
// payload edits (signatures are placeholders: the checker checks
// structure and binding, not signatures).
func sdJWT(kbHeader, kbPayload map[string]any, sdAlg string) string {
	issPayload := map[string]any{"iss": "https://issuer.example", "vct": "urn:example:pid", "_sd": []string{"x"}}
	if sdAlg != "" {
		issPayload["_sd_alg"] = sdAlg
	}
	issJWT := b64json(map[string]any{"alg": "ES256", "typ": "dc+sd-jwt"}) + "." + b64json(issPayload) + ".c2ln"
	disclosure := b64json([]any{"salt", "age_over_18", true})
	sd := issJWT + "~" + disclosure + "~"
	h := sdHashes["sha-256"]
	if sdAlg != "" {
		h = sdHashes[sdAlg]
	}
	d := h()
	d.Write([]byte(sd))
	p := map[string]any{"iat": testNow.Unix(), "aud": testClientID, "nonce": testNonce, "sd_hash": base64.RawURLEncoding.EncodeToString(d.Sum(nil))}
	for k, v := range kbPayload {
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	hdr := map[string]any{"alg": "ES256", "typ": "kb+jwt"}
	for k, v := range kbHeader {
		hdr[k] = v
	}
	return sd + b64json(hdr) + "." + b64json(p) + ".c2ln"
}

func replaceFirst(s, old, new string) string { return strings.Replace(s, old, new, 1) }
