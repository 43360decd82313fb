// Package jose implements the small part of JOSE that Yinzheng needs: elliptic
// curve keys as JWKs (RFC 7517), compact JWS (RFC 7515), RFC 7638 thumbprints,
// key ids, and PKCS#8 / PKIX PEM import and export, for two suites:
//
//   - SuiteGM ("gm"): SM2 signatures (GB/T 32918.2) with SM3 over Z_A||M and
//     the default signer ID "1234567812345678" ([SM2SignerID]). There is no IANA registration
//     for SM2 in JOSE, so this package defines a profile: JWK
//     {"kty":"EC","crv":"SM2","x":…,"y":…}, JWS "alg":"SM2", and a signature
//     that is the 64-byte r||s concatenation (each half left-padded to 32
//     bytes), exactly like ES256. See docs/jose-sm2-profile.md.
//   - SuiteIntl ("intl"): ES256, ECDSA on P-256 with SHA-256 (RFC 7518 §3.4).
//
// Parsing is strict on purpose, because everything here sits on a trust
// boundary: base64url must be canonical and unpadded, JSON objects must not
// repeat a member, coordinates must be exactly 32 bytes and on the curve, and
// a verifier accepts only the algorithm of the key it was given (so an "alg"
// in the token can never choose the algorithm: no "none", no confusion).
//
// Errors wrap sentinel values (ErrMalformed, ErrKey, ErrAlgNone,
// ErrAlgMismatch, ErrCrit, ErrSignature, ErrTooLarge) so callers can tell
// causes apart with errors.Is. No error message and no String or Format
// output ever contains private key material.
//
// # Thumbprints and key ids
//
// Thumbprint computes RFC 7638 thumbprints over the required members
// {"crv","kty","x","y"}. crypto.Hash has no value for SM3, so the package
// defines ThumbprintSM3, a crypto.Hash value that only Thumbprint understands
// (do not call its New method); PublicKey.ThumbprintSM3 is a shorthand.
// KeyID is the multibase base58btc ("z…") encoding of the SM3 thumbprint,
// the identifier format used across Yinzheng.
package jose
