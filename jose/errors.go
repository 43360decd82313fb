package jose

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them, so
// callers can tell causes apart with errors.Is; the message names the problem.
var (
	// ErrMalformed reports input that is not well-formed: wrong number of
	// compact parts, bad base64url, JSON that is invalid, not an object or
	// repeats a member, a missing or mistyped header parameter.
	ErrMalformed = errors.New("jose: malformed input")

	// ErrTooLarge reports input over the size limit, refused before decoding.
	ErrTooLarge = errors.New("jose: input too large")

	// ErrKey reports an unusable key: unknown kty or crv, coordinates of the
	// wrong length, a point not on the curve, a private scalar out of range
	// or not matching the public point, private material where only a public
	// key is allowed, or a nil key.
	ErrKey = errors.New("jose: invalid key")

	// ErrAlgNone reports a JWS whose "alg" is "none" (an unsecured JWS).
	ErrAlgNone = errors.New(`jose: alg "none" is not accepted`)

	// ErrAlgMismatch reports an "alg" that is not the algorithm of the key
	// (algorithm confusion), or an unsupported algorithm.
	ErrAlgMismatch = errors.New("jose: alg does not match the key")

	// ErrCrit reports a "crit" header parameter naming an extension this
	// package does not implement (RFC 7515 §4.1.11 requires rejection).
	ErrCrit = errors.New("jose: unsupported critical header parameter")

	// ErrSignature reports a signature that does not verify, is not exactly
	// 64 bytes, or has r or s outside [1, n-1].
	ErrSignature = errors.New("jose: invalid signature")
)
