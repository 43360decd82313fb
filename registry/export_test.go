package registry

import (
	"crypto"
	"crypto/rand"
	"encoding/json"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// Test hooks: craft what a correct registrar never issues, signed by the
// registrar's own key, to break exactly one check at a time.

// SignRegistration signs claims as a registration+jwt with the registrar
// key (typ overrides the header's typ when not "").
func (r *Registrar) SignRegistration(claims map[string]any, typ string) string {
	if typ == "" {
		typ = RegistrationType
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	s, err := jose.Sign(r.key, map[string]any{"typ": typ}, payload)
	if err != nil {
		panic(err)
	}
	return s
}

// ClaimsOf returns the (unverified) claims of a registration, to modify.
func ClaimsOf(reg string) map[string]any {
	j, err := jose.ParseCompact(reg)
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(j.Payload, &m); err != nil {
		panic(err)
	}
	return m
}

// SignStatus signs a status list of bits for uri with the registrar key.
func (r *Registrar) SignStatus(uri string, bits []byte, now time.Time) string {
	s, err := revocation.SignStatusList(r.key, r.cfg.ID, uri, bits, now)
	if err != nil {
		panic(err)
	}
	return s
}

// Cert describes a certificate to craft.
type Cert struct {
	DNSNames  []string
	IsCA      bool
	KeyUsage  smx509.KeyUsage
	NotBefore time.Time
	NotAfter  time.Time
}

// Issue creates a certificate for a new key of suite, signed by parent
// (nil: self-signed) with parentKey, and returns it with its key.
func Issue(c Cert, suite jose.Suite, parent *smx509.Certificate, parentKey *jose.PrivateKey) (*smx509.Certificate, *jose.PrivateKey) {
	key, err := jose.GenerateKey(suite, nil)
	if err != nil {
		panic(err)
	}
	signer, err := signerOf(key)
	if err != nil {
		panic(err)
	}
	serial, _ := serialNumber()
	tmpl := &smx509.Certificate{
		SerialNumber: serial, Subject: pkixName("crafted"),
		NotBefore: c.NotBefore, NotAfter: c.NotAfter, KeyUsage: c.KeyUsage,
		BasicConstraintsValid: true, IsCA: c.IsCA, DNSNames: c.DNSNames,
	}
	var parentSigner crypto.Signer = signer
	if parent == nil {
		parent = tmpl
	} else if parentSigner, err = signerOf(parentKey); err != nil {
		panic(err)
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, parent, signer.Public(), parentSigner)
	if err != nil {
		panic(err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return cert, key
}

// Key returns the registrar key.
func (r *Registrar) Key() *jose.PrivateKey { return r.key }
