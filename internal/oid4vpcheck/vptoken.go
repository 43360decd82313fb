package oid4vpcheck

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"hash"
	"strings"

	"github.com/emmansun/gmsm/sm3"
)

// CheckVPToken validates a vp_token against the request (§8.1): a JSON
// object keyed by credential query ids of the request's DCQL query, each
// value a non-empty array of presentations (strings or objects), one
// unless the query allows multiple; every required query answered
// (§6.4.2: every query without credential_sets, one option of each
// required set with them). A dc+sd-jwt presentation must be an SD-JWT
// with a Key Binding JWT (unless holder binding is not required) of typ
// kb+jwt whose aud is the client_id, nonce the request's and sd_hash the
// digest of the SD-JWT it ends (Appendix B.3.6; signatures are not
// checked here: that is the verifier's business).
func (r *Request) CheckVPToken(data []byte) error {
	if len(data) > MaxDocumentSize {
		return ErrTooLarge
	}
	tok, err := parseObject(data, ErrVPToken)
	if err != nil {
		return err
	}
	for id, raw := range tok {
		c := r.DCQL.query(id)
		if c == nil {
			return fmt.Errorf("%w: %q", ErrVPTokenUnknownID, id)
		}
		ps, ok := array(raw)
		if !ok || len(ps) == 0 {
			return fmt.Errorf("%w: %s", ErrVPTokenArray, id)
		}
		if len(ps) > 1 && !c.Multiple {
			return fmt.Errorf("%w: %s has %d", ErrVPTokenMultiple, id, len(ps))
		}
		for i, p := range ps {
			k := kind(p)
			if k != "string" && k != "object" {
				return fmt.Errorf("%w: %s[%d] is a %s", ErrPresentation, id, i, k)
			}
			if c.Format == FormatSDJWTVC {
				var s string
				if k != "string" || json.Unmarshal(p, &s) != nil {
					return fmt.Errorf("%w: %s[%d] is not a string", ErrSDJWT, id, i)
				}
				if err := r.checkSDJWT(s, c.HolderBinding); err != nil {
					return fmt.Errorf("%s[%d]: %w", id, i, err)
				}
			}
		}
	}
	if len(r.DCQL.CredentialSets) == 0 {
		for _, c := range r.DCQL.Credentials {
			if !tok.has(c.ID) {
				return fmt.Errorf("%w: %s", ErrVPTokenMissing, c.ID)
			}
		}
		return nil
	}
	for i, set := range r.DCQL.CredentialSets {
		if !set.Required {
			continue
		}
		satisfied := false
		for _, opt := range set.Options {
			all := true
			for _, id := range opt {
				all = all && tok.has(id)
			}
			satisfied = satisfied || all
		}
		if !satisfied {
			return fmt.Errorf("%w: credential_sets[%d]", ErrVPTokenMissing, i)
		}
	}
	return nil
}

// sdHashes are the _sd_alg values the checker can recompute sd_hash with
// (IANA Named Information names, and sm3).
var sdHashes = map[string]func() hash.Hash{
	"sha-256": sha256.New, "sha-384": sha512.New384, "sha-512": sha512.New, "sm3": sm3.New,
}

// checkSDJWT checks the structure of an SD-JWT presentation (RFC 9901
// §4): <issuer-signed JWT>~<disclosure>~…~<KB-JWT>.
func (r *Request) checkSDJWT(s string, bound bool) error {
	parts := strings.Split(s, "~")
	if len(parts) < 2 {
		return fmt.Errorf("%w: no ~ separator", ErrSDJWT)
	}
	iss, err := parseJWS(parts[0])
	if err != nil {
		return fmt.Errorf("%w: issuer-signed JWT: %v", ErrSDJWT, err)
	}
	if alg, _, _ := iss.header.str("alg"); alg == "" || alg == "none" {
		return fmt.Errorf("%w: issuer-signed JWT alg %q", ErrSDJWT, alg)
	}
	payload, err := parseObject(iss.payload, ErrSDJWT)
	if err != nil {
		return err
	}
	for i, d := range parts[1 : len(parts)-1] {
		raw, err := b64.DecodeString(d)
		arr, ok := array(raw)
		if err != nil || !ok || (len(arr) != 2 && len(arr) != 3) {
			return fmt.Errorf("%w: disclosure %d is not base64url of a 2- or 3-element array", ErrSDJWT, i)
		}
	}
	kb := parts[len(parts)-1]
	if kb == "" {
		if bound {
			return fmt.Errorf("%w: no Key Binding JWT, but the query requires holder binding", ErrSDJWT)
		}
		return nil
	}
	j, err := parseJWS(kb)
	if err != nil {
		return fmt.Errorf("%w: KB-JWT: %v", ErrSDJWT, err)
	}
	if typ, _, _ := j.header.str("typ"); typ != "kb+jwt" {
		return fmt.Errorf("%w: %s", ErrKBJWTType, j.header["typ"])
	}
	if alg, _, _ := j.header.str("alg"); alg == "" || alg == "none" {
		return fmt.Errorf("%w: KB-JWT alg %q", ErrSDJWT, alg)
	}
	kbp, err := parseObject(j.payload, ErrSDJWT)
	if err != nil {
		return err
	}
	if _, ok, err := kbp.numericDate("iat"); err != nil || !ok {
		return fmt.Errorf("%w: KB-JWT iat missing", ErrSDJWT)
	}
	if aud, _, _ := kbp.str("aud"); aud != r.ClientID {
		return fmt.Errorf("%w: %s, want %q", ErrKBJWTAudience, kbp["aud"], r.ClientID)
	}
	if nonce, _, _ := kbp.str("nonce"); nonce != r.Nonce {
		return fmt.Errorf("%w: %s", ErrKBJWTNonce, kbp["nonce"])
	}
	alg := "sha-256"
	if payload.has("_sd_alg") {
		alg, _, _ = payload.str("_sd_alg")
	}
	h, ok := sdHashes[alg]
	if !ok {
		return fmt.Errorf("%w: _sd_alg %q", ErrKBJWTSDHash, alg)
	}
	d := h()
	d.Write([]byte(s[:len(s)-len(kb)]))
	if got, _, _ := kbp.str("sd_hash"); got != b64.EncodeToString(d.Sum(nil)) {
		return fmt.Errorf("%w: sd_hash %s", ErrKBJWTSDHash, kbp["sd_hash"])
	}
	return nil
}
