package holder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// FormatVersion is the "version" of every JSON document the wallet reads
// and writes (holder requests, bundles, verifier requests, presentations).
const FormatVersion = 1

// MaxDocumentBytes bounds every JSON document the wallet reads.
const MaxDocumentBytes = 1 << 20

// SDJWTCopies is the number of single-use SD-JWT copies a holder request asks
// for: one holder key, hence one copy, per SD-JWT presentation.
const SDJWTCopies = 8

// ErrFormat reports a JSON document that is not of the expected shape:
// not JSON, too large, an unknown or missing member, the wrong version.
var ErrFormat = errors.New("holder: malformed document")

// HolderRequest asks an issuer for a credential bound to this wallet: the
// holder commitment (never the secret) and fresh SD-JWT holder keys, one per
// single-use copy.
type HolderRequest struct {
	Version          int               `json:"version"`
	HolderCommitment string            `json:"holder_commitment"`
	SDJWTKeys        []json.RawMessage `json:"sd_jwt_keys"`
}

// Bundle is what an issuer hands the holder at issuance: the SD-JWT VC
// copies, the zero-knowledge credential's attributes and leaf, and the
// leaf's path under a signed root.
type Bundle struct {
	Version       int        `json:"version"`
	Issuer        string     `json:"issuer"`
	Serial        uint64     `json:"serial"`
	Wanghao       string     `json:"wanghao"`
	SDJWT         []string   `json:"sd_jwt"`
	ZK            BundleZK   `json:"zk"`
	Path          BundlePath `json:"path"`
	RootStatement string     `json:"root_statement"`
}

// BundleZK is the zero-knowledge credential in a bundle: the attributes in
// clear (they stay on the device) and their field encoding.
type BundleZK struct {
	BirthDate               string `json:"birth_date"`
	Expiry                  string `json:"expiry"`
	Level                   int    `json:"level"`
	GuardianConsent         bool   `json:"guardian_consent"`
	GuardianAcknowledgement bool   `json:"guardian_acknowledgement"`
	DocType                 string `json:"doc_type"`
	Name                    string `json:"name"`
	Region                  string `json:"region"`
	Salt                    string `json:"salt"`
	Attributes              string `json:"attributes"`
	Identity                string `json:"identity"`
	Leaf                    string `json:"leaf"`
}

// BundlePath is a leaf's authentication path under the root of one epoch.
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

// SDJWTRequest names the SD-JWT claims a verifier asks to see.
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

// Presentation types.
const (
	PresentationZK    = "zk"
	PresentationSDJWT = "sd-jwt"
)

// ParseBundle reads a bundle strictly: at most MaxDocumentBytes, one JSON
// object, no unknown member, version 1.
func ParseBundle(data []byte) (*Bundle, error) {
	var b Bundle
	if err := decodeStrict(data, "bundle", &b); err != nil {
		return nil, err
	}
	if b.Version != FormatVersion {
		return nil, fmt.Errorf("%w: bundle version %d, this wallet reads %d", ErrFormat, b.Version, FormatVersion)
	}
	return &b, nil
}

// ParseRequest reads a verifier request strictly: at most MaxDocumentBytes,
// one JSON object, no unknown member, version 1.
func ParseRequest(data []byte) (*Request, error) {
	var r Request
	if err := decodeStrict(data, "request", &r); err != nil {
		return nil, err
	}
	if r.Version != FormatVersion {
		return nil, fmt.Errorf("%w: request version %d, this wallet reads %d", ErrFormat, r.Version, FormatVersion)
	}
	return &r, nil
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// members, trailing data and documents over MaxDocumentBytes.
func decodeStrict(data []byte, what string, v any) error {
	if len(data) > MaxDocumentBytes {
		return fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrFormat, what, len(data), MaxDocumentBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrFormat, what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: data after the JSON object", ErrFormat, what)
	}
	return nil
}
