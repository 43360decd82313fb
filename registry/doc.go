// Package registry is the registrar of the public service (Art. 7 of the
// Measures: platforms join the service) and the checks a wallet makes of a
// registered platform.
//
// A [Registrar] has its own key (SM2 for the gm suite, ECDSA P-256 for
// intl), sealed at rest under a passphrase, and a self-signed root
// certificate that wallets pin ([Roots]). [Registrar.Register] certifies a
// platform: it generates the platform's key, issues its access certificate
// (an X.509 leaf whose only DNS name is the platform's domain, signed by the
// root) and signs its registration, a registration+jwt listing the
// platform's [Entitlements] (Art. 8: the predicates it may have proven, the
// plaintext claims it may receive and their legal basis, its response
// URIs), bound to the certificate's key and pointing into the registrar's
// registration status list. [Registrar.Revoke] sets the registration's bit
// in that list, a Token Status List (statuslist+jwt) signed by the registrar
// key and written by the revocation package's writer, the same as the
// issuer's credential list.
//
// [VerifyPlatform] is what a wallet runs on a request: the chain verifies
// to a pinned root, the registration is signed by that root's key and names
// the certificate's domain and key, it is current, and the status list is
// signed by the same key, fresh and does not revoke it. Nothing the
// platform writes about itself decides: the domain, and so the pseudonym
// scope and the client_id, come from the certificate the registrar signed.
//
// # Stapled status, and why
//
// The wallet never contacts the registrar. The platform fetches the
// registrar's latest status list (a public file, re-signed at least daily:
// it expires after revocation.StatusListLifetime, 24 hours) and staples it
// into every request; the wallet checks it as above. Were the wallet to
// fetch the status itself, the registrar would learn which platforms each
// person visits, and when: exactly the linking the service exists to
// prevent. The cost is that a revocation takes effect only when the stapled
// lists signed before it have expired (at most a day). A request without a
// status list is refused ([ErrStatusMissing]): a platform could otherwise
// escape its revocation by leaving it out. [VerifyOptions.AllowMissingStatus]
// exists for a platform reading its own files, never for a wallet.
//
// # Files
//
// A registrar directory holds yinzheng-registry.json (format, identifier,
// suite), private/registrar-key.sealed, registrations.json (every
// registration by status index, revoked or not), and public/root.pem and
// public/registration-status.jwt, the two files to publish. A platform
// directory ([Platform.Save], [LoadPlatform]) holds platform-key.sealed,
// chain.pem, root.pem, registration.jwt, registration-status.jwt and,
// optionally, tls-cert.pem and tls-key.pem.
package registry
