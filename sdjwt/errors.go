package sdjwt

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them,
// so callers can tell causes apart with errors.Is.
var (
	// ErrMalformed reports an SD-JWT, KB-JWT or JSON serialization that
	// cannot be parsed.
	ErrMalformed = errors.New("sdjwt: malformed SD-JWT")
	// ErrMalformedDisclosure reports a disclosure that is not base64url, not
	// a JSON array of two or three elements, or whose salt is not a string.
	ErrMalformedDisclosure = errors.New("sdjwt: malformed disclosure")
	// ErrMalformedPayload reports an "_sd" that is not an array of strings,
	// an "_sd_alg" that is not a string, or a similar structural error.
	ErrMalformedPayload = errors.New("sdjwt: malformed SD-JWT payload")
	// ErrDisclosureKind reports an object-property disclosure referenced from
	// an array, or an array-element disclosure referenced from "_sd".
	ErrDisclosureKind = errors.New("sdjwt: disclosure kind does not match where its digest appears")
	// ErrDuplicateDigest reports a digest that appears more than once.
	ErrDuplicateDigest = errors.New("sdjwt: digest appears more than once")
	// ErrUnreferencedDisclosure reports a disclosure whose digest appears nowhere.
	ErrUnreferencedDisclosure = errors.New("sdjwt: disclosure is not referenced by any digest")
	// ErrClaimExists reports a disclosed claim name that the object already has.
	ErrClaimExists = errors.New("sdjwt: disclosed claim name already exists")
	// ErrReservedClaimName reports a disclosure (or issued claim) named "_sd" or "...".
	ErrReservedClaimName = errors.New("sdjwt: reserved claim name")
	// ErrUnsupportedHashAlg reports an "_sd_alg" that is not registered.
	ErrUnsupportedHashAlg = errors.New("sdjwt: unsupported _sd_alg")
	// ErrIssuerSignature reports an issuer-signed JWT whose signature does not verify.
	ErrIssuerSignature = errors.New("sdjwt: issuer signature invalid")
	// ErrType reports an issuer-signed JWT whose "typ" is not accepted.
	ErrType = errors.New("sdjwt: unexpected typ of the issuer-signed JWT")
	// ErrExpired reports an SD-JWT whose "exp" has passed.
	ErrExpired = errors.New("sdjwt: expired")
	// ErrNotYetValid reports an SD-JWT whose "nbf" or "iat" lies in the future.
	ErrNotYetValid = errors.New("sdjwt: not yet valid")
	// ErrTooLarge reports a presentation over the verifier's size limit.
	ErrTooLarge = errors.New("sdjwt: presentation too large")
	// ErrKBMissing reports a presentation without a Key Binding JWT when one is required.
	ErrKBMissing = errors.New("sdjwt: key binding JWT required but missing")
	// ErrKBWithoutCnf reports a Key Binding JWT on an SD-JWT that has no "cnf" holder key.
	ErrKBWithoutCnf = errors.New("sdjwt: key binding JWT present but the SD-JWT has no cnf key")
	// ErrKBSignature reports a Key Binding JWT whose signature does not verify
	// with the holder key from "cnf".
	ErrKBSignature = errors.New("sdjwt: key binding JWT signature invalid")
	// ErrKBType reports a Key Binding JWT whose "typ" is not "kb+jwt".
	ErrKBType = errors.New("sdjwt: key binding JWT typ is not kb+jwt")
	// ErrKBAudience reports a Key Binding JWT whose "aud" is not the verifier's.
	ErrKBAudience = errors.New("sdjwt: key binding JWT aud mismatch")
	// ErrKBNonce reports a Key Binding JWT whose "nonce" is not the verifier's.
	ErrKBNonce = errors.New("sdjwt: key binding JWT nonce mismatch")
	// ErrKBSDHash reports a Key Binding JWT whose "sd_hash" does not match the presentation.
	ErrKBSDHash = errors.New("sdjwt: key binding JWT sd_hash mismatch")
	// ErrKBIssuedAt reports a Key Binding JWT whose "iat" is missing or outside the accepted window.
	ErrKBIssuedAt = errors.New("sdjwt: key binding JWT iat outside the accepted window")
	// ErrKBConfig reports a verifier asked to check a Key Binding JWT
	// without an expected audience and nonce.
	ErrKBConfig = errors.New("sdjwt: key binding JWT present but no expected aud and nonce configured")
	// ErrInvalidPath reports a claim path that is not a non-empty array of
	// strings, non-negative integers and nulls.
	ErrInvalidPath = errors.New("sdjwt: invalid claim path")
	// ErrPathNotFound reports a claim path that selects nothing.
	ErrPathNotFound = errors.New("sdjwt: claim path not found")
	// ErrNotDisclosable reports an attempt to make a claim selectively
	// disclosable that SD-JWT VC requires in the clear (iss, nbf, exp, cnf,
	// status, vct, vct#integrity).
	ErrNotDisclosable = errors.New("sdjwt: claim must not be selectively disclosable")
	// ErrInvalidClaims reports issuance input that is not acceptable, such as
	// a claim that conflicts with an issuance option.
	ErrInvalidClaims = errors.New("sdjwt: invalid claims")
)
