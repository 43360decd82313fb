// Package verifier is the platform's side of Yinzheng: it turns a policy
// ("over 18", "level 3 or more", "guardian consent", a scope) into a request
// with a single-use nonce, and verifies the zero-knowledge or SD-JWT
// presentation that answers it.
//
// A Verifier keeps every request it makes in an embedded Badger store under
// its directory, with a time to live. Verification takes the request out of
// the store in one transaction before checking anything else, so a request
// verifies at most once even when many presentations of it race, and every
// public input of the proof comes from that stored request and from a root
// statement the verifier fetched and checked itself, never from the
// presentation.
//
// What the verifier trusts comes from the issuer's publication (package
// publication): issuer.json names the issuer's key, the circuit keys'
// manifest and verifying key fix the circuit, root statements are signed by
// the issuer key, and so is the status list. All of it is cached in memory for
// Options.CacheTTL. A Verifier is safe for concurrent use.
//
// Verify returns a Result whose Reasons are short, stable strings (the Reason
// constants); it returns an error only when it could not decide, for example
// because the issuer's publication could not be read.
package verifier
