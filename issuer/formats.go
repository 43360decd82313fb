package issuer

import (
	"encoding/base64"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/wire"
)

// FormatVersion is the "version" of the JSON documents the issuer reads and
// writes.
const FormatVersion = 1

// MaxSDJWTCopies bounds the SD-JWT copies (holder keys) one request may ask
// for. Holders ask for 8.
const MaxSDJWTCopies = 32

// The documents of issuance (package wire has them field by field).
type (
	HolderRequest = wire.HolderRequest
	Bundle        = wire.Bundle
	BundleZK      = wire.BundleZK
	BundlePath    = wire.BundlePath
)

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
	if _, err := checkHolderRequest(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

func checkHolderRequest(r *HolderRequest) (*holderRequest, error) {
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

var b64 = base64.RawURLEncoding
