// Package wire holds the JSON documents that travel between Yinzheng's
// roles: the holder's request for issuance, the issuer's bundle, the
// verifier's request and the holder's presentation. Issuer, holder and
// verifier must not import one another, so the one definition of each
// document lives here; each role re-exports the ones it speaks (holder.Bundle
// is wire.Bundle) and keeps its own parsing rules. The package is public so
// that a program outside this module can build, read and inspect the
// documents the wallet and the verifier take.
//
// Between a platform and a wallet the documents are OpenID for Verifiable
// Presentations 1.0: a signed Request Object (JAR, typ oauth-authz-req+jwt,
// x5c, client_id with the x509_san_dns prefix, response_mode direct_post)
// whose DCQL query asks for a dc+sd-jwt credential or a FormatZK proof,
// and the vp_token that answers it. Every document of the package is read
// strictly under one size limit, MaxDocumentSize, and the circuit statement
// is built from a request by one function, Statement, for wallet and
// verifier alike.
package wire

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Version is the format version every document carries.
const Version = 1

// Presentation types.
const (
	TypeZK    = "zk"
	TypeSDJWT = "sd-jwt"
)

// HolderRequest is what a holder sends to be issued a credential: the
// commitment to its secret (never the secret) and one public key per
// single-use SD-JWT copy.
type HolderRequest struct {
	Version          int               `json:"version"`
	HolderCommitment string            `json:"holder_commitment"`
	SDJWTKeys        []json.RawMessage `json:"sd_jwt_keys"`
}

// Bundle is what issuance hands the holder: the SD-JWT VC copies, the
// zero-knowledge credential and its path. The 网号 and the personal data
// travel only to the holder.
//
// A bundle is either signed or pending. A signed bundle's path is under the
// root of a published epoch, whose statement RootStatement carries. A
// pending bundle (Pending true, RootStatement empty) is what an issuer that
// batches epochs hands out: its path is under the current tree, which no
// statement signs yet, and Path.Epoch is the epoch being built, the first
// whose root will cover the leaf; the holder completes the path with the
// deltas of epochs Path.Epoch onwards once they are published.
type Bundle struct {
	Version       int        `json:"version"`
	Issuer        string     `json:"issuer"`
	Serial        uint64     `json:"serial"`
	Wanghao       string     `json:"wanghao"`
	SDJWT         []string   `json:"sd_jwt"`
	ZK            BundleZK   `json:"zk"`
	Path          BundlePath `json:"path"`
	RootStatement string     `json:"root_statement"`
	Pending       bool       `json:"pending,omitempty"`
}

// BundleZK is the zero-knowledge credential in a bundle: the attributes in
// clear (they stay on the device), the salt, and their field encoding.
type BundleZK struct {
	BirthDate               string `json:"birth_date"`
	Expiry                  string `json:"expiry"`
	Level                   int    `json:"level"`
	GuardianConsent         bool   `json:"guardian_consent"`
	GuardianAcknowledgement bool   `json:"guardian_acknowledgement"`
	DocType                 string `json:"doc_type"`
	Name                    string `json:"name"`
	Region                  string `json:"region"`
	Salt                    string `json:"salt"` // base64url, no padding
	Attributes              string `json:"attributes"`
	Identity                string `json:"identity"`
	Leaf                    string `json:"leaf"`
}

// BundlePath is a leaf's authentication path under the root of one epoch
// (for a pending bundle, under the unsigned current root of the epoch being
// built).
type BundlePath struct {
	Serial   uint64   `json:"serial"`
	Epoch    uint64   `json:"epoch"`
	Root     string   `json:"root"`
	Siblings []string `json:"siblings"`
}

// Request is a verifier's request, for a zero-knowledge proof or (with
// SDJWT set) an SD-JWT presentation.
type Request struct {
	Version    int           `json:"version"`
	ID         string        `json:"id"`
	Nonce      string        `json:"nonce"`
	Scope      string        `json:"scope"`
	Issuer     string        `json:"issuer"`
	CircuitID  string        `json:"circuit_id"`
	Epochs     []uint64      `json:"epochs"`
	Today      string        `json:"today"`
	BornAfter  *string       `json:"born_after"`
	BornBefore *string       `json:"born_before"`
	MinLevel   int           `json:"min_level"`
	Flags      []string      `json:"flags"`
	Predicates Predicates    `json:"predicates"`
	SDJWT      *SDJWTRequest `json:"sd_jwt,omitempty"`
	Audience   string        `json:"audience"`
	ExpiresAt  string        `json:"expires_at"`
}

// Predicates are the age rules a request states in words; the wallet checks
// that the request's birth-date window is exactly the one they imply.
type Predicates struct {
	AgeOver  *int `json:"age_over,omitempty"`
	AgeUnder *int `json:"age_under,omitempty"`
}

// String describes the predicates in words.
func (p Predicates) String() string {
	var parts []string
	if p.AgeOver != nil {
		parts = append(parts, fmt.Sprintf("age %d or over", *p.AgeOver))
	}
	if p.AgeUnder != nil {
		parts = append(parts, fmt.Sprintf("under %d", *p.AgeUnder))
	}
	if len(parts) == 0 {
		return "(no age rule)"
	}
	return strings.Join(parts, " and ")
}

// SDJWTRequest names the SD-JWT claims a request asks to see.
type SDJWTRequest struct {
	Claims []string `json:"claims"`
}

// Presentation answers a request: a zero-knowledge proof (Type "zk") or an
// SD-JWT with a Key Binding JWT (Type "sd-jwt").
type Presentation struct {
	Version   int     `json:"version"`
	Type      string  `json:"type"`
	RequestID string  `json:"request_id"`
	CircuitID string  `json:"circuit_id,omitempty"`
	Epoch     *uint64 `json:"epoch,omitempty"`
	Pseudonym string  `json:"pseudonym,omitempty"`
	Proof     string  `json:"proof,omitempty"`
	SDJWT     string  `json:"sd_jwt,omitempty"`
}
