package registry

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/yinzheng-id/yinzheng/schemas"
)

// The predicates a registration may allow, by the names requests give them
// (the members of a request's predicates). The circuit proves each of them
// without revealing the attribute behind it.
const (
	PredicateAgeOver         = "age_over"
	PredicateAgeUnder        = "age_under"
	PredicateMinLevel        = "min_level"
	PredicateGuardianConsent = "guardian_consent"
)

// Predicates returns the predicate names a registration may list, in the
// order registrations write them.
func Predicates() []string {
	return []string{PredicateAgeOver, PredicateAgeUnder, PredicateMinLevel, PredicateGuardianConsent}
}

// MaxLegalBasis bounds the legal basis text, in bytes.
const MaxLegalBasis = 2048

// maxResponseURIs bounds the response URIs of one registration.
const maxResponseURIs = 16

// Entitlements are what a registered platform may ask for (Art. 8 of the
// Measures): the predicates it may have proven, the claims it may receive
// in plaintext by SD-JWT and the legal basis for them, and where the
// wallet may send the answer.
type Entitlements struct {
	// Predicates are names from Predicates().
	Predicates []string `json:"predicates"`
	// Claims are selectively disclosable claims of the wangzheng v1
	// schema (schemas.ClaimSpecs) the platform may receive in plaintext.
	Claims []string `json:"claims"`
	// LegalBasis is the text of the legal basis for receiving Claims;
	// required when Claims is not empty.
	LegalBasis string `json:"legal_basis,omitempty"`
	// ResponseURIs are the URIs the wallet may post answers to, each an
	// https URL on the platform's domain (http only for the loopback
	// development domain "localhost"). Empty means any such URL on the
	// domain.
	ResponseURIs []string `json:"response_uris"`
}

// selectiveClaims are the schema's selectively disclosable claims: the only
// ones a registration may allow in plaintext (the others, vct, iss, cnf…,
// are in every SD-JWT anyway).
var selectiveClaims = sync.OnceValues(func() ([]string, error) {
	specs, err := schemas.ClaimSpecs()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range specs {
		if s.Selective {
			out = append(out, s.Name)
		}
	}
	return out, nil
})

// Check reports whether e is valid for a platform on domain: known
// predicates and selective schema claims, each once; a legal basis when
// claims are allowed; response URIs on the domain. Register refuses what
// Check refuses, and VerifyPlatform checks signed registrations again.
func (e Entitlements) Check(domain string) error {
	if err := CheckDomain(domain); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range e.Predicates {
		if !slices.Contains(Predicates(), p) {
			return fmt.Errorf("%w: unknown predicate %q (allowed: %s)", ErrEntitlements, p, strings.Join(Predicates(), ", "))
		}
		if seen["p:"+p] {
			return fmt.Errorf("%w: predicate %q listed twice", ErrEntitlements, p)
		}
		seen["p:"+p] = true
	}
	claims, err := selectiveClaims()
	if err != nil {
		return err
	}
	for _, c := range e.Claims {
		if !slices.Contains(claims, c) {
			return fmt.Errorf("%w: %q is not a selectively disclosable claim of the schema (allowed: %s)", ErrEntitlements, c, strings.Join(claims, ", "))
		}
		if seen["c:"+c] {
			return fmt.Errorf("%w: claim %q listed twice", ErrEntitlements, c)
		}
		seen["c:"+c] = true
	}
	switch {
	case len(e.Claims) > 0 && strings.TrimSpace(e.LegalBasis) == "":
		return fmt.Errorf("%w: plaintext claims (%s) need a legal basis", ErrEntitlements, strings.Join(e.Claims, ", "))
	case len(e.LegalBasis) > MaxLegalBasis:
		return fmt.Errorf("%w: the legal basis is longer than %d bytes", ErrEntitlements, MaxLegalBasis)
	case len(e.ResponseURIs) > maxResponseURIs:
		return fmt.Errorf("%w: more than %d response URIs", ErrEntitlements, maxResponseURIs)
	}
	for _, u := range e.ResponseURIs {
		if err := checkResponseURI(domain, u); err != nil {
			return err
		}
		if seen["u:"+u] {
			return fmt.Errorf("%w: response URI %q listed twice", ErrEntitlements, u)
		}
		seen["u:"+u] = true
	}
	return nil
}

// AllowsPredicate reports whether the platform may ask for predicate name.
func (e Entitlements) AllowsPredicate(name string) bool {
	return slices.Contains(e.Predicates, name)
}

// AllowsClaim reports whether the platform may receive claim name in
// plaintext.
func (e Entitlements) AllowsClaim(name string) bool {
	return slices.Contains(e.Claims, name)
}

// AllowsResponseURI reports whether the wallet may post an answer of the
// platform on domain to uri: one of ResponseURIs exactly, or, when the
// registration lists none, any https URL whose host is the domain.
func (e Entitlements) AllowsResponseURI(domain, uri string) bool {
	if len(e.ResponseURIs) > 0 {
		return slices.Contains(e.ResponseURIs, uri)
	}
	return checkResponseURI(domain, uri) == nil
}

// LoopbackDomain is the one domain whose response URIs may be plain http:
// development on one machine.
const LoopbackDomain = "localhost"

// checkResponseURI accepts an absolute https URL (http for LoopbackDomain)
// whose host is domain, any port, without user information or fragment.
func checkResponseURI(domain, s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%w: response URI %q is not a URL", ErrEntitlements, s)
	}
	switch {
	case u.Scheme != "https" && !(u.Scheme == "http" && domain == LoopbackDomain):
		return fmt.Errorf("%w: response URI %q is not https", ErrEntitlements, s)
	case u.Opaque != "" || u.User != nil || u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Errorf("%w: response URI %q has user information, a fragment or no host", ErrEntitlements, s)
	case u.Hostname() != domain:
		return fmt.Errorf("%w: response URI %q is not on %s", ErrEntitlements, s, domain)
	}
	return nil
}

// maxDomain is the longest DNS name (RFC 1035).
const maxDomain = 253

// CheckDomain accepts a platform domain: a lower-case DNS host name
// (letters, digits and hyphens in labels of 1 to 63 characters, no label
// starting or ending with a hyphen, no trailing dot), not an IP address and
// not a wildcard. The access certificate names it exactly; a wallet
// compares it byte for byte, so one spelling only is accepted.
func CheckDomain(d string) error {
	if d == "" || len(d) > maxDomain {
		return fmt.Errorf("%w: %q must be 1 to %d characters", ErrDomain, d, maxDomain)
	}
	if net.ParseIP(d) != nil {
		return fmt.Errorf("%w: %q is an IP address, not a DNS name", ErrDomain, d)
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("%w: %q has an empty, too long or hyphen-edged label", ErrDomain, d)
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("%w: %q: only lower-case letters, digits, hyphens and dots", ErrDomain, d)
			}
		}
	}
	// An all-numeric last label would read as an IPv4 address to some
	// resolvers ("1.2.3.4" is caught above, "10.0.0.999" is not).
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" {
		return fmt.Errorf("%w: %q ends in a numeric label", ErrDomain, d)
	}
	return nil
}
