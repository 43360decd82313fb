package issuer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/jose"
)

// FormatVersion is the "version" of the JSON documents the issuer reads and
// writes.
const FormatVersion = 1

// MaxSDJWTCopies bounds the SD-JWT copies (holder keys) one request may ask
// for. Holders ask for 8.
const MaxSDJWTCopies = 32

// HolderRequest is what a holder sends to be issued a credential: the
// commitment to its secret (never the secret) and one public key per
// single-use SD-JWT copy.
type HolderRequest struct {
	Version          int               `json:"version"`
	HolderCommitment string            `json:"holder_commitment"`
	SDJWTKeys        []json.RawMessage `json:"sd_jwt_keys"`
}

// holderRequest is a checked HolderRequest.
type holderRequest struct {
	commitment fr.Element
	keys       []*jose.PublicKey
}

// ParseHolderRequest reads and checks a holder request: version 1, a
// canonical non-zero field element, 1 to MaxSDJWTCopies distinct public JWKs.
func ParseHolderRequest(data []byte) (*HolderRequest, error) {
	var r HolderRequest
	if err := decodeStrict(data, "holder request", &r); err != nil {
		return nil, err
	}
	if _, err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *HolderRequest) check() (*holderRequest, error) {
	if r.Version != FormatVersion {
		return nil, fmt.Errorf("holder request: version %d, want %d", r.Version, FormatVersion)
	}
	hc, err := zkhash.ParseElement(r.HolderCommitment)
	if err != nil {
		return nil, fmt.Errorf("holder request: holder_commitment: %w", err)
	}
	if hc.IsZero() {
		return nil, fmt.Errorf("holder request: holder_commitment is zero")
	}
	if len(r.SDJWTKeys) == 0 || len(r.SDJWTKeys) > MaxSDJWTCopies {
		return nil, fmt.Errorf("holder request: sd_jwt_keys: %d keys, want 1 to %d", len(r.SDJWTKeys), MaxSDJWTCopies)
	}
	out := &holderRequest{commitment: hc}
	for i, raw := range r.SDJWTKeys {
		k, err := jose.ParsePublicJWK(raw)
		if err != nil {
			return nil, fmt.Errorf("holder request: sd_jwt_keys[%d]: %w", i, err)
		}
		for j, prev := range out.keys {
			if prev.Equal(k) {
				return nil, fmt.Errorf("holder request: sd_jwt_keys[%d] repeats sd_jwt_keys[%d]: each copy needs its own key", i, j)
			}
		}
		out.keys = append(out.keys, k)
	}
	return out, nil
}

// Bundle is what issuance hands the holder: the SD-JWT VC copies, the
// zero-knowledge credential and its path under a signed root. The 网号 and
// the personal data travel only to the holder.
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

// BundleZK is the zero-knowledge credential: its attributes in clear, the
// salt, and their field encoding.
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

// BundlePath is the leaf's authentication path under the root of Epoch.
type BundlePath struct {
	Serial   uint64   `json:"serial"`
	Epoch    uint64   `json:"epoch"`
	Root     string   `json:"root"`
	Siblings []string `json:"siblings"`
}

var b64 = base64.RawURLEncoding
