package oid4vpcheck

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// Request is a request object that passed every check.
type Request struct {
	// ClientID is the full client_id, prefix included, as the wallet always
	// uses it (Security Considerations, "Always Use the Full Client
	// Identifier").
	ClientID string
	// DNSName is the client_id without the x509_san_dns: prefix.
	DNSName string
	// ResponseMode is direct_post or direct_post.jwt.
	ResponseMode string
	// ResponseURI is where the authorization response is posted.
	ResponseURI string
	Nonce       string
	// State is the request's state ("" when absent).
	State string
	// DCQL is the checked query.
	DCQL *DCQL
	// Chain is the x5c chain, leaf first.
	Chain []*smx509.Certificate
	// Header and Claims are the JWS header and the payload's members.
	Header, Claims map[string]json.RawMessage
}

var dnsLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// isDNSName reports whether s is a DNS name (RFC 1035 §2.3.1 labels, at
// most 253 characters) and not an IP address.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 || net.ParseIP(s) != nil {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !dnsLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// CheckRequestObject validates a compact request object: the JWS and its
// x5c chain (verifyX5C), the x509_san_dns client_id against the leaf and
// against invocationClientID (when not empty), and the request
// parameters.
func (w *Wallet) CheckRequestObject(compact, invocationClientID string) (*Request, error) {
	now := w.now()
	j, err := parseJWS(compact)
	if err != nil {
		return nil, err
	}
	// §5: typ present and exactly oauth-authz-req+jwt.
	if typ, _, err := j.header.str("typ"); err != nil || typ != RequestObjectType {
		return nil, fmt.Errorf("%w: %s", ErrTyp, j.header["typ"])
	}
	chain, err := w.verifyX5C(j, now)
	if err != nil {
		return nil, err
	}
	claims, err := parseObject(j.payload, ErrJWS)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	r := &Request{Chain: chain, Header: j.header, Claims: claims}

	// client_id (§5.2, §5.9.3).
	clientID, ok, err := claims.str("client_id")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: client_id", ErrMissingParameter)
	}
	prefix, rest, found := strings.Cut(clientID, ":")
	if !found || prefix+":" != PrefixX509SANDNS {
		return nil, fmt.Errorf("%w: %q", ErrClientIDPrefix, clientID)
	}
	if !isDNSName(rest) {
		return nil, fmt.Errorf("%w: %q", ErrClientIDDNSName, rest)
	}
	if !sanMatches(chain[0], rest) {
		return nil, fmt.Errorf("%w: %q, leaf names %v", ErrClientIDSAN, rest, chain[0].DNSNames)
	}
	if invocationClientID != "" && invocationClientID != clientID {
		return nil, fmt.Errorf("%w: invocation %q, request object %q", ErrClientIDMismatch, invocationClientID, clientID)
	}
	r.ClientID, r.DNSName = clientID, rest

	// RFC 9101 §4: no request by value or reference inside.
	if claims.has("request") || claims.has("request_uri") {
		return nil, ErrNestedRequest
	}
	// §5.1: an unsupported transaction_data MUST be refused.
	if claims.has("transaction_data") {
		return nil, ErrTransactionData
	}
	// §5.8: static discovery.
	aud, ok, err := claims.str("aud")
	if err != nil {
		// aud may be an array in JWT (RFC 7519); §5.8 says it MUST be
		// the one value.
		return nil, fmt.Errorf("%w: %s", ErrAudience, claims["aud"])
	}
	if !ok {
		return nil, fmt.Errorf("%w: aud", ErrMissingParameter)
	}
	if aud != SelfIssuedAudience {
		return nil, fmt.Errorf("%w: %q", ErrAudience, aud)
	}
	// §5 ignores iss. Times, RFC 7519 §4.1.
	if err := checkTimes(claims, now); err != nil {
		return nil, err
	}

	// response_type (§5.6) and response_mode (§5.2, §8.2, §8.3.1).
	rt, ok, err := claims.str("response_type")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: response_type", ErrMissingParameter)
	}
	if rt != "vp_token" {
		return nil, fmt.Errorf("%w: %q", ErrResponseType, rt)
	}
	rm, ok, err := claims.str("response_mode")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: response_mode", ErrMissingParameter)
	}
	if rm != "direct_post" && rm != "direct_post.jwt" {
		return nil, fmt.Errorf("%w: %q", ErrResponseMode, rm)
	}
	r.ResponseMode = rm
	ru, ok, err := claims.str("response_uri")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: response_uri (response_mode %s)", ErrMissingParameter, rm)
	}
	u, err := url.Parse(ru)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "" || u.Fragment != "" || u.User != nil {
		// A redirect (so response) URI has no fragment (RFC 6749
		// §3.1.2); the wallet posts over TLS only (Security Considerations, "TLS Requirements").
		return nil, fmt.Errorf("%w: %q", ErrResponseURI, ru)
	}
	// §5.9.3: without a list of trusted client identifiers the FQDN of
	// the redirect (so response, §8.2) URI must be the DNS name.
	if !strings.EqualFold(u.Hostname(), rest) {
		return nil, fmt.Errorf("%w: %q, client_id names %q", ErrResponseURIHost, u.Hostname(), rest)
	}
	if claims.has("redirect_uri") {
		return nil, ErrRedirectURI
	}
	r.ResponseURI = ru

	// nonce (§5.2).
	nonce, ok, err := claims.str("nonce")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: nonce", ErrMissingParameter)
	}
	if !urlSafe.MatchString(nonce) || len(nonce) < MinNonceLength {
		return nil, fmt.Errorf("%w: want at least %d URL-safe characters", ErrNonce, MinNonceLength)
	}
	r.Nonce = nonce

	// dcql_query xor scope (§5.1).
	switch hasQ, hasS := claims.has("dcql_query"), claims.has("scope"); {
	case hasQ == hasS:
		return nil, fmt.Errorf("%w: dcql_query %v, scope %v", ErrQuery, hasQ, hasS)
	case hasS:
		// A scope is an alias of a DCQL query known out of band (§5.5):
		// this wallet knows none.
		return nil, fmt.Errorf("%w: scope aliases are not known to this wallet", ErrQuery)
	}
	if r.DCQL, err = CheckDCQL(claims["dcql_query"]); err != nil {
		return nil, err
	}

	// state (§5.2, §5.3).
	state, ok, err := claims.str("state")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	if ok && !urlSafe.MatchString(state) {
		return nil, fmt.Errorf("%w: not URL-safe characters", ErrState)
	}
	if r.DCQL.unbound() && (!ok || len(state) < MinNonceLength) {
		// §5.3: without holder binding state binds the response, with
		// at least 128 bits of entropy.
		return nil, fmt.Errorf("%w: a query without holder binding needs a state of at least %d characters", ErrState, MinNonceLength)
	}
	r.State = state

	if err := checkClientMetadata(claims, r.DCQL, rm); err != nil {
		return nil, err
	}
	if err := checkVerifierInfo(claims, r.DCQL); err != nil {
		return nil, err
	}
	return r, nil
}

// sanMatches reports whether name is a dNSName SAN of cert (DNS names
// compare case-insensitively, RFC 5280 §7.2; no wildcard matching: the
// client_id names one host).
func sanMatches(cert *smx509.Certificate, name string) bool {
	for _, n := range cert.DNSNames {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// checkTimes applies RFC 7519 §4.1.4-6 with ClockSkew: exp, if present,
// not passed; iat and nbf, if present, not in the future; exp after iat.
// RFC 9101 makes none of them required.
func checkTimes(claims object, now time.Time) error {
	t := float64(now.UnixNano()) / 1e9
	skew := ClockSkew.Seconds()
	exp, hasExp, err := claims.numericDate("exp")
	if err != nil {
		return err
	}
	iat, hasIat, err := claims.numericDate("iat")
	if err != nil {
		return err
	}
	nbf, hasNbf, err := claims.numericDate("nbf")
	if err != nil {
		return err
	}
	switch {
	case hasExp && t >= exp:
		return fmt.Errorf("%w: at %s", ErrExpired, time.Unix(int64(exp), 0).UTC().Format(time.RFC3339))
	case hasIat && (iat > t+skew || iat < 0 || math.IsNaN(iat)):
		return fmt.Errorf("%w: iat %v is in the future", ErrIssuedAt, iat)
	case hasNbf && nbf > t+skew:
		return fmt.Errorf("%w: nbf %v is in the future", ErrIssuedAt, nbf)
	case hasExp && hasIat && exp <= iat:
		return fmt.Errorf("%w: exp %v not after iat %v", ErrIssuedAt, exp, iat)
	}
	return nil
}

// checkClientMetadata: for x509_san_dns all verifier metadata comes from
// client_metadata (§5.9.3), so client_metadata and its
// vp_formats_supported (§11.1: an object keyed by Credential Format
// Identifier, each value an object) are required, and must cover every
// format of the query (else the wallet could only answer
// vp_formats_not_supported, §8.5). jwks keys need a kid (§5.1);
// direct_post.jwt needs a key to encrypt to (§8.3).
func checkClientMetadata(claims object, q *DCQL, mode string) error {
	if !claims.has("client_metadata") {
		return fmt.Errorf("%w: client_metadata (x509_san_dns takes all metadata from it)", ErrMissingParameter)
	}
	if kind(claims["client_metadata"]) != "object" {
		return fmt.Errorf("%w: client_metadata is not an object", ErrClientMetadata)
	}
	md, err := parseObject(claims["client_metadata"], ErrClientMetadata)
	if err != nil {
		return err
	}
	if !md.has("vp_formats_supported") || kind(md["vp_formats_supported"]) != "object" {
		return fmt.Errorf("%w: vp_formats_supported missing or not an object", ErrClientMetadata)
	}
	formats, err := parseObject(md["vp_formats_supported"], ErrClientMetadata)
	if err != nil {
		return err
	}
	for name, v := range formats {
		if name == "" || kind(v) != "object" {
			return fmt.Errorf("%w: vp_formats_supported[%q] is not an object", ErrClientMetadata, name)
		}
	}
	for _, c := range q.Credentials {
		if !formats.has(c.Format) {
			return fmt.Errorf("%w: %s (credential query %s)", ErrFormatNotSupported, c.Format, c.ID)
		}
	}
	keys := 0
	if md.has("jwks") {
		jwks, err := parseObject(md["jwks"], ErrClientMetadata)
		if err != nil {
			return err
		}
		list, ok := array(jwks["keys"])
		if !ok || len(list) == 0 {
			return fmt.Errorf("%w: jwks.keys is not a non-empty array", ErrClientMetadata)
		}
		for i, k := range list {
			jwk, err := parseObject(k, ErrClientMetadata)
			if err != nil {
				return err
			}
			if kid, _, err := jwk.str("kid"); err != nil || kid == "" {
				return fmt.Errorf("%w: jwks.keys[%d] has no kid", ErrClientMetadata, i)
			}
		}
		keys = len(list)
	}
	if mode == "direct_post.jwt" && keys == 0 {
		return fmt.Errorf("%w: direct_post.jwt without a jwks key to encrypt to", ErrClientMetadata)
	}
	return nil
}

// checkVerifierInfo (§5.1): optional; a non-empty array of objects with
// format (string) and data (object or string), credential_ids (optional)
// a non-empty array of strings naming credential queries.
func checkVerifierInfo(claims object, q *DCQL) error {
	if !claims.has("verifier_info") {
		return nil
	}
	list, ok := array(claims["verifier_info"])
	if !ok || len(list) == 0 {
		return fmt.Errorf("%w: not a non-empty array", ErrVerifierInfo)
	}
	for i, el := range list {
		vi, err := parseObject(el, ErrVerifierInfo)
		if err != nil {
			return fmt.Errorf("verifier_info[%d]: %w", i, err)
		}
		if f, ok, err := vi.str("format"); err != nil || !ok || f == "" {
			return fmt.Errorf("%w: [%d] format missing or not a string", ErrVerifierInfo, i)
		}
		if k := kind(vi["data"]); k != "object" && k != "string" {
			return fmt.Errorf("%w: [%d] data missing or neither an object nor a string", ErrVerifierInfo, i)
		}
		if vi.has("credential_ids") {
			ids, ok := stringArray(vi["credential_ids"])
			if !ok {
				return fmt.Errorf("%w: [%d] credential_ids is not a non-empty array of strings", ErrVerifierInfo, i)
			}
			for _, id := range ids {
				if q.query(id) == nil {
					return fmt.Errorf("%w: [%d] credential_ids names %q, no credential query of the request", ErrVerifierInfo, i, id)
				}
			}
		}
	}
	return nil
}
