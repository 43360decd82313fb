// Package verifier is the platform's side of Yinzheng: it turns a policy
// ("over 18", "level 3 or more", "guardian consent", a scope) into a request
// with a single-use nonce, and verifies the zero-knowledge or SD-JWT
// presentation that answers it.
//
// A Verifier keeps every request it makes in an embedded Badger store under
// its directory, with a time to live. Verification decides first and then
// takes the request out of the store in one transaction, so a request
// yields at most one verdict even when many presentations of it race, and a
// verification that could not decide leaves it usable for a retry. Every
// public input of the proof comes from that stored request and from a root
// statement the verifier fetched and checked itself, never from the
// presentation.
//
// What the verifier trusts is pinned in its directory (Trust, trust.json):
// the issuer id, the issuer's public keys and the accepted circuit ids,
// pinned by an operator after inspecting the publication (Inspect,
// Inspection.Pin, `yinzheng verifier trust`). The issuer's publication
// (package publication) is read and checked against the pins at every load:
// issuer.json must name a pinned key, the verifying key must hash to a
// pinned circuit id, development keys are refused unless allowed; root
// statements and the status list must be signed by that key. The verifier
// also records, durably, the newest latest root and status list it has
// verified, and refuses older ones (ErrRolledBack). Publication files are
// cached in memory for Options.CacheTTL. A Verifier is safe for concurrent
// use.
//
// Verify returns a Result whose Reasons are short, stable strings (the Reason
// constants); it returns an error only when it could not decide, for example
// because the issuer's publication could not be read or does not match the
// pins. Ready says whether it can decide now.
package verifier
