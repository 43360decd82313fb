package registry

import "errors"

// Refusals of VerifyPlatform (and of LoadPlatform, which runs the same
// checks on a platform's own files). Each names one check; errors wrap
// exactly one of them (ErrExpired may come with ErrUntrustedChain when the
// certificate itself has expired), so callers tell them apart with
// errors.Is.
var (
	// ErrFormat means an input is malformed: an empty or oversized chain,
	// a registration that is not a registration+jwt or whose claims do
	// not parse or break the registration rules, a leaf that does not
	// carry exactly one DNS name.
	ErrFormat = errors.New("registry: malformed input")
	// ErrUntrustedChain means the certificate chain does not verify to a
	// pinned registrar root: another registrar, a self-signed leaf, an
	// intermediate that is not a CA, a leaf that is itself a CA or may not
	// sign.
	ErrUntrustedChain = errors.New("registry: the certificate chain does not verify to a pinned registrar root")
	// ErrDomainMismatch means the access certificate names another domain
	// than the registration's subject.
	ErrDomainMismatch = errors.New("registry: the certificate and the registration name different domains")
	// ErrKeyMismatch means the registration is bound (cnf) to another key
	// than the access certificate's, or a platform's key is not its
	// certificate's.
	ErrKeyMismatch = errors.New("registry: the registration is bound to another key than the certificate's")
	// ErrRegistrationSignature means the registration is not signed by the
	// registrar whose root the chain verifies to.
	ErrRegistrationSignature = errors.New("registry: the registration is not signed by the registrar that certified the platform")
	// ErrExpired means the registration (or the access certificate) has
	// expired.
	ErrExpired = errors.New("registry: the registration has expired")
	// ErrNotYetValid means the registration is not valid yet (nbf).
	ErrNotYetValid = errors.New("registry: the registration is not valid yet")
	// ErrStatusMissing means no registration status list was given and
	// the caller did not accept its absence explicitly.
	ErrStatusMissing = errors.New("registry: no registration status list stapled")
	// ErrStatusSignature means the status list token is not signed by the
	// registrar that signed the registration.
	ErrStatusSignature = errors.New("registry: the status list is not signed by the platform's registrar")
	// ErrStatusStale means the status list token is past its exp.
	ErrStatusStale = errors.New("registry: the registration status list is stale")
	// ErrStatusList means the status list token is not the one the
	// registration refers to (another URI), has no exp, or does not cover
	// the registration's index.
	ErrStatusList = errors.New("registry: the status list does not cover this registration")
	// ErrRevoked means the registrar revoked the registration.
	ErrRevoked = errors.New("registry: the registration was revoked")
)

// Errors of the registrar and of the platform files.
var (
	// ErrWrongPassphrase means the passphrase does not open the sealed key
	// (or the sealed file is corrupted).
	ErrWrongPassphrase = errors.New("registry: wrong passphrase (or the sealed key is corrupted)")
	// ErrNotRegistryDir means the directory is not a registrar directory.
	ErrNotRegistryDir = errors.New("registry: not a registrar directory")
	// ErrEntitlements means Register was given entitlements outside the
	// rules (an unknown predicate, a claim that is not a selective claim
	// of the schema, claims without a legal basis, a response URI off the
	// domain).
	ErrEntitlements = errors.New("registry: invalid entitlements")
	// ErrDomain means a platform domain is not a lower-case DNS name.
	ErrDomain = errors.New("registry: invalid platform domain")
	// ErrUnknownPlatform means no registration of this domain is on record.
	ErrUnknownPlatform = errors.New("registry: no registration of this domain")
)
