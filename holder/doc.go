// Package holder is the Yinzheng wallet: it keeps a holder's secret and
// credentials on the device, sealed under a passphrase, and answers
// verifiers' requests.
//
// A wallet directory holds two sealed files: wallet.key, a random data key
// sealed under the passphrase (Argon2id, then SM4-GCM, package
// internal/seal), and wallet.sealed, the wallet's state sealed under that
// data key (SM4-GCM). Both are replaced atomically (temporary file, fsync,
// rename). The state holds:
//
//   - the holder secret, a random BN254 scalar generated on the device; the
//     issuer only ever sees its commitment, and pseudonyms derive from it;
//   - pending holder requests: the private SD-JWT holder keys generated for
//     a request (one per single-use SD-JWT copy) until its bundle arrives;
//   - credentials: the SD-JWT copies with their keys and whether each was
//     shown, the zero-knowledge attributes, and the leaf's path under the
//     last few verified roots;
//   - the pinned key of each issuer, taken from its issuer.json at the first
//     import; a different key later is refused.
//
// The recovery phrase, shown once at Init, encodes the holder secret (see
// Recover); it restores the holder commitment and every pseudonym, not the
// credentials, which the issuer re-issues to the same commitment.
//
// The wallet trusts only what the issuer publishes (package
// publication) and checks its signature: Import verifies the root
// statement and every SD-JWT copy under the issuer key, that the copies are
// bound to keys of a pending request, that the leaf is the attributes' leaf
// under this wallet's commitment, and that the path leads to the signed
// root. Refresh follows the epoch deltas every holder downloads alike, with
// a bucket of 4^BucketK leaves as the fallback. Prove answers a
// zero-knowledge request after refusing requests that would reveal more than
// they say; Present answers an SD-JWT request with an unused copy.
package holder
