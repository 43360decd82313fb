package sdjwt

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"maps"

	"github.com/emmansun/gmsm/sm3"
)

// Names of the digest algorithms a new HashRegistry knows, as used in
// "_sd_alg" (the IANA Named Information Hash Algorithm names, plus "sm3" for
// the gm suite).
const (
	HashSHA256 = "sha-256"
	HashSHA384 = "sha-384"
	HashSHA512 = "sha-512"
	HashSM3    = "sm3"
)

// A HashRegistry maps "_sd_alg" names to hash constructors. Issuers, holders
// and verifiers each take a registry, so registering an algorithm affects only
// the registry it was registered in. A nil *HashRegistry means the built-in
// algorithms.
type HashRegistry struct {
	funcs map[string]func() hash.Hash
}

// builtinHashes is read only: nothing in this package writes to it after
// initialisation, and it is never handed out.
var builtinHashes = map[string]func() hash.Hash{
	HashSHA256: sha256.New,
	HashSHA384: sha512.New384,
	HashSHA512: sha512.New,
	HashSM3:    sm3.New,
}

// NewHashRegistry returns a registry holding sha-256, sha-384, sha-512 and sm3.
func NewHashRegistry() *HashRegistry {
	return &HashRegistry{funcs: maps.Clone(builtinHashes)}
}

// Register adds (or replaces) the algorithm called name.
func (r *HashRegistry) Register(name string, newHash func() hash.Hash) error {
	if name == "" || newHash == nil {
		return fmt.Errorf("sdjwt: Register needs a name and a constructor")
	}
	r.funcs[name] = newHash
	return nil
}

// lookup returns the constructor registered as name.
func (r *HashRegistry) lookup(name string) (func() hash.Hash, error) {
	funcs := builtinHashes
	if r != nil {
		funcs = r.funcs
	}
	f, ok := funcs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedHashAlg, name)
	}
	return f, nil
}

// digest returns base64url(H(ASCII(s))), the digest form RFC 9901 uses for
// disclosures and sd_hash.
func digest(newHash func() hash.Hash, s string) string {
	h := newHash()
	h.Write([]byte(s))
	return b64.EncodeToString(h.Sum(nil))
}
