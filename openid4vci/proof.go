package openid4vci

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
)

// Bounds on a proof JWT's iat: how old it may be, and how far in the future
// (clock skew). A proof is made just before its request, under a c_nonce
// that lives NonceTTL at most.
const (
	MaxProofAge    = 5 * time.Minute
	MaxProofSkew   = 60 * time.Second
	MaxProofSize   = 8 << 10
	MaxNonceLength = 256
)

// ErrInvalidProof reports a proof JWT that fails a check of Appendix F.4;
// the message names the check. The credential endpoint answers it with
// ErrorInvalidProof.
var ErrInvalidProof = errors.New("openid4vci: invalid proof")

func proofErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidProof}, a...)...)
}

// SignProof makes the proof of possession of key for a credential request
// to the credential issuer audience, under the issuer's c_nonce (Appendix
// F.1): typ openid4vci-proof+jwt, the public key in the jwk header, aud,
// iat and nonce, and no iss (anonymous pre-authorized access).
func SignProof(key *jose.PrivateKey, audience, nonce string, iat time.Time) (string, error) {
	jwk, err := key.Public().MarshalJSON()
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(map[string]any{"aud": audience, "iat": iat.Unix(), "nonce": nonce})
	if err != nil {
		return "", err
	}
	return jose.Sign(key, map[string]any{"typ": ProofJWTType, "jwk": json.RawMessage(jwk)}, payload)
}

// ProofCheck is what a proof JWT is checked against.
type ProofCheck struct {
	// Audience is the credential issuer identifier the proof must name.
	Audience string
	// Algs are the accepted signing algorithms
	// (proof_signing_alg_values_supported).
	Algs []string
	// Now is the time of the request.
	Now time.Time
}

// VerifyProof checks a proof JWT (Appendix F.4) and returns the key it
// proves possession of and the nonce it carries, which the caller must
// check is a live c_nonce it issued. Refused with ErrInvalidProof: a typ
// other than openid4vci-proof+jwt; an alg not in Algs; a key given other
// than as one public jwk header (kid, x5c, trust_chain, key_attestation);
// a signature that does not verify under that jwk; an aud other than
// Audience; an iat missing, older than MaxProofAge or more than
// MaxProofSkew ahead; an iss (the pre-authorized code was redeemed
// anonymously); no nonce.
func VerifyProof(compact string, c ProofCheck) (*jose.PublicKey, string, error) {
	if len(compact) > MaxProofSize {
		return nil, "", proofErr("%d bytes, limit %d", len(compact), MaxProofSize)
	}
	j, err := jose.ParseCompact(compact)
	if err != nil {
		return nil, "", proofErr("%v", err)
	}
	if typ, ok := j.Header["typ"].(string); !ok || typ != ProofJWTType {
		return nil, "", proofErr("typ must be %q", ProofJWTType)
	}
	alg, _ := j.Header["alg"].(string)
	if !slices.Contains(c.Algs, alg) {
		return nil, "", proofErr("alg %q is not one of %q", alg, c.Algs)
	}
	for _, name := range []string{"kid", "x5c", "trust_chain", "key_attestation"} {
		if _, ok := j.Header[name]; ok {
			return nil, "", proofErr("the key must be given as a jwk header only, not %s", name)
		}
	}
	rawJWK, ok := j.Header["jwk"]
	if !ok {
		return nil, "", proofErr("no jwk header")
	}
	jwkJSON, err := json.Marshal(rawJWK)
	if err != nil {
		return nil, "", proofErr("jwk header: %v", err)
	}
	key, err := jose.ParsePublicJWK(jwkJSON)
	if err != nil {
		return nil, "", proofErr("jwk header: %v", err)
	}
	_, payload, err := jose.Verify(compact, key)
	if err != nil {
		return nil, "", proofErr("the signature does not verify under its jwk: %v", err)
	}
	var claims struct {
		Aud   json.RawMessage `json:"aud"`
		Iat   *float64        `json:"iat"`
		Nonce *string         `json:"nonce"`
		Iss   json.RawMessage `json:"iss"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, "", proofErr("payload: %v", err)
	}
	var aud string
	if json.Unmarshal(claims.Aud, &aud) != nil || aud != c.Audience {
		return nil, "", proofErr("aud must be the credential issuer %q", c.Audience)
	}
	if claims.Iat == nil || math.IsNaN(*claims.Iat) || math.IsInf(*claims.Iat, 0) {
		return nil, "", proofErr("no iat")
	}
	iat := time.Unix(int64(*claims.Iat), 0)
	switch {
	case iat.Before(c.Now.Add(-MaxProofAge)):
		return nil, "", proofErr("iat %s is more than %v old", iat.UTC().Format(time.RFC3339), MaxProofAge)
	case iat.After(c.Now.Add(MaxProofSkew)):
		return nil, "", proofErr("iat %s is in the future", iat.UTC().Format(time.RFC3339))
	}
	if len(claims.Iss) > 0 {
		return nil, "", proofErr("iss must be omitted: the pre-authorized code was redeemed anonymously")
	}
	if claims.Nonce == nil || *claims.Nonce == "" || len(*claims.Nonce) > MaxNonceLength {
		return nil, "", proofErr("no c_nonce in the nonce claim")
	}
	return key, *claims.Nonce, nil
}
