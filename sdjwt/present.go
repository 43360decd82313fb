package sdjwt

import (
	"fmt"
	"hash"
	"sort"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
)

// TypeKeyBinding is the "typ" of a Key Binding JWT.
const TypeKeyBinding = "kb+jwt"

// PresentOptions configure Present.
type PresentOptions struct {
	// HolderKey, when set, signs a Key Binding JWT over the presentation. It
	// must be the private half of the SD-JWT's "cnf" key.
	HolderKey *jose.PrivateKey
	// Audience and Nonce are the KB-JWT's "aud" and "nonce": the verifier's
	// identifier and its fresh challenge. Both are required with HolderKey.
	Audience, Nonce string
	// IssuedAt is the KB-JWT's "iat"; zero means Now().
	IssuedAt time.Time
	// Now is the clock for "iat"; nil means time.Now.
	Now func() time.Time
	// Hashes looks up the SD-JWT's "_sd_alg"; nil means the built-in algorithms.
	Hashes *HashRegistry
}

// Present builds a presentation of sd that reveals the claims at the given
// paths, and nothing else. Revealing a claim reveals everything beneath it
// and every selectively disclosable parent on the way to it. With
// opts.HolderKey set, a Key Binding JWT is appended. The holder does not
// verify the issuer's signature here; the disclosures are checked against
// the payload's digests with every rule a verifier applies.
func Present(sd *SDJWT, disclose []ClaimPath, opts PresentOptions) (*SDJWT, error) {
	jws, err := jose.ParseCompact(sd.JWT)
	if err != nil {
		return nil, fmt.Errorf("%w: issuer-signed JWT: %v", ErrMalformed, err)
	}
	payload, newHash, root, err := applyDisclosures(jws.Payload, sd.Disclosures, opts.Hashes)
	if err != nil {
		return nil, err
	}
	selected := make(map[int]bool)
	for _, p := range disclose {
		if err := p.validate(); err != nil {
			return nil, err
		}
		if err := root.selectPath(p, selected); err != nil {
			return nil, err
		}
	}
	idx := make([]int, 0, len(selected))
	for i := range selected {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := &SDJWT{JWT: sd.JWT, OtherSignatures: sd.OtherSignatures, Disclosures: make([]string, 0, len(idx))}
	for _, i := range idx {
		out.Disclosures = append(out.Disclosures, sd.Disclosures[i])
	}
	if opts.HolderKey == nil {
		return out, nil
	}
	if opts.Audience == "" || opts.Nonce == "" {
		return nil, fmt.Errorf("sdjwt: a key binding JWT needs an audience and a nonce")
	}
	if _, ok := payload["cnf"]; !ok {
		return nil, fmt.Errorf("%w: cannot add a key binding JWT", ErrKBWithoutCnf)
	}
	iat := opts.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
		if opts.Now != nil {
			iat = opts.Now()
		}
	}
	kbPayload, err := marshalJSON(map[string]any{
		"iat":     iat.Unix(),
		"aud":     opts.Audience,
		"nonce":   opts.Nonce,
		"sd_hash": digest(newHash, out.withoutKeyBinding()),
	})
	if err != nil {
		return nil, err
	}
	kb, err := jose.Sign(opts.HolderKey, map[string]any{"typ": TypeKeyBinding}, kbPayload)
	if err != nil {
		return nil, fmt.Errorf("sdjwt: signing key binding JWT: %w", err)
	}
	out.KeyBinding = kb
	return out, nil
}

// applyDisclosures decodes the issuer-signed payload, parses the disclosures and
// applies them: what presenting and verifying both do before they diverge.
// It returns the payload, the digest the payload names and the processed
// claims.
func applyDisclosures(rawPayload []byte, encoded []string, reg *HashRegistry) (map[string]any, func() hash.Hash, *node, error) {
	payload, newHash, err := decodePayload(rawPayload, reg)
	if err != nil {
		return nil, nil, nil, err
	}
	disclosures, err := parseDisclosures(encoded)
	if err != nil {
		return nil, nil, nil, err
	}
	root, err := process(payload, disclosures, newHash)
	if err != nil {
		return nil, nil, nil, err
	}
	return payload, newHash, root, nil
}

// parseDisclosures decodes every disclosure.
func parseDisclosures(encoded []string) ([]*Disclosure, error) {
	out := make([]*Disclosure, len(encoded))
	for i, e := range encoded {
		d, err := ParseDisclosure(e)
		if err != nil {
			return nil, fmt.Errorf("disclosure %d: %w", i, err)
		}
		out[i] = d
	}
	return out, nil
}

// decodePayload decodes an issuer-signed payload and looks up its "_sd_alg"
// (sha-256 when absent, as RFC 9901 Section 4.1.1 specifies).
func decodePayload(raw []byte, reg *HashRegistry) (map[string]any, func() hash.Hash, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: payload: %v", ErrMalformedPayload, err)
	}
	payload, ok := v.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("%w: payload is not a JSON object", ErrMalformedPayload)
	}
	alg := HashSHA256
	if a, ok := payload["_sd_alg"]; ok {
		if alg, ok = a.(string); !ok {
			return nil, nil, fmt.Errorf("%w: _sd_alg is not a string", ErrMalformedPayload)
		}
	}
	newHash, err := reg.lookup(alg)
	if err != nil {
		return nil, nil, err
	}
	return payload, newHash, nil
}
