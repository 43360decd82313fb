package oid4vpcheck

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// reqCase breaks exactly one rule of a valid request object.
type reqCase struct {
	name string
	// edit changes the header and the payload before signing.
	edit func(t *testing.T, p *pki, h, pl map[string]any)
	// compact, when set, replaces the signed JWS.
	compact func(t *testing.T, p *pki, valid string) string
	// invocation is the invocation URL's client_id ("" is testClientID).
	invocation string
	want       error
}

func setDCQL(t *testing.T, pl map[string]any, f func(c map[string]any)) {
	q := jsonOf(t, pl["dcql_query"])
	c := q["credentials"].([]any)[0].(map[string]any)
	f(c)
	pl["dcql_query"] = q
}

func requestCases() []reqCase {
	del := func(k string) func(*testing.T, *pki, map[string]any, map[string]any) {
		return func(_ *testing.T, _ *pki, _, pl map[string]any) { delete(pl, k) }
	}
	set := func(k string, v any) func(*testing.T, *pki, map[string]any, map[string]any) {
		return func(_ *testing.T, _ *pki, _, pl map[string]any) { pl[k] = v }
	}
	hset := func(k string, v any) func(*testing.T, *pki, map[string]any, map[string]any) {
		return func(_ *testing.T, _ *pki, h, _ map[string]any) {
			if v == nil {
				delete(h, k)
			} else {
				h[k] = v
			}
		}
	}
	return []reqCase{
		{name: "valid", want: nil},
		{name: "unknown parameters are ignored", edit: set("x_extension", map[string]any{"a": 1}), want: nil},
		{name: "iss is ignored", edit: set("iss", 42), want: nil},
		{name: "direct_post.jwt with an encryption key", edit: func(t *testing.T, _ *pki, _, pl map[string]any) {
			pl["response_mode"] = "direct_post.jwt"
			md := jsonOf(t, pl["client_metadata"])
			md["jwks"] = map[string]any{"keys": []any{map[string]any{"kty": "EC", "kid": "k1", "alg": "ECDH-ES"}}}
			pl["client_metadata"] = md
		}, want: nil},

		// JWS.
		{name: "not three parts", compact: func(_ *testing.T, _ *pki, v string) string { return v + ".x" }, want: ErrJWS},
		{name: "header not base64url", compact: func(_ *testing.T, _ *pki, v string) string { return "*" + v }, want: ErrJWS},
		{name: "payload not an object", compact: func(t *testing.T, p *pki, _ string) string {
			return sign(t, p.leafKey, p.validHeader(), []byte(`["x"]`))
		}, want: ErrJWS},
		{name: "duplicate header member", compact: func(t *testing.T, p *pki, _ string) string {
			h := `{"typ":"oauth-authz-req+jwt","alg":"` + p.alg() + `","alg":"` + p.alg() + `","x5c":["` + base64.StdEncoding.EncodeToString(p.leafDER) + `"]}`
			return sign(t, p.leafKey, []byte(h), validPayload())
		}, want: ErrDuplicateMember},
		{name: "duplicate payload member", compact: func(t *testing.T, p *pki, _ string) string {
			return sign(t, p.leafKey, p.validHeader(), []byte(`{"client_id":"`+testClientID+`","client_id":"`+testClientID+`"}`))
		}, want: ErrDuplicateMember},
		{name: "typ missing", edit: hset("typ", nil), want: ErrTyp},
		{name: "typ JWT", edit: hset("typ", "JWT"), want: ErrTyp},
		{name: "typ with application/ prefix", edit: hset("typ", "application/oauth-authz-req+jwt"), want: ErrTyp},
		{name: "alg none", edit: hset("alg", "none"), want: ErrAlg},
		{name: "alg HS256", edit: hset("alg", "HS256"), want: ErrAlg},
		{name: "alg missing", edit: hset("alg", nil), want: ErrAlg},
		{name: "alg of another key", edit: func(_ *testing.T, p *pki, h, _ map[string]any) {
			if p.sm2 {
				h["alg"] = "ES256"
			} else {
				h["alg"] = "SM2"
			}
		}, want: ErrAlgKey},
		{name: "crit", edit: hset("crit", []string{"b64"}), want: ErrCrit},
		{name: "x5c missing", edit: hset("x5c", nil), want: ErrX5C},
		{name: "x5c empty", edit: hset("x5c", []string{}), want: ErrX5C},
		{name: "x5c base64url", edit: func(_ *testing.T, p *pki, h, _ map[string]any) {
			h["x5c"] = []string{base64.RawURLEncoding.EncodeToString(p.leafDER) + "-_"}
		}, want: ErrX5C},
		{name: "x5c not a certificate", edit: hset("x5c", []string{"AAAA"}), want: ErrX5C},
		{name: "chain to another root", compact: func(t *testing.T, p *pki, _ string) string {
			other := newPKI(t, p.sm2)
			h := other.validHeader()
			return sign(t, other.leafKey, h, validPayload())
		}, want: ErrChain},
		{name: "leaf not for signatures", compact: func(t *testing.T, p *pki, _ string) string {
			h := p.validHeader()
			h["x5c"] = []string{base64.StdEncoding.EncodeToString(p.issue(t, p.leafKey, []string{testDomain}, 1<<2 /* keyEncipherment */))}
			return sign(t, p.leafKey, h, validPayload())
		}, want: ErrKeyUsage},
		{name: "signed by another key", compact: func(t *testing.T, p *pki, _ string) string {
			return sign(t, newKey(t, p.sm2), p.validHeader(), validPayload())
		}, want: ErrSignature},
		{name: "payload changed after signing", compact: func(t *testing.T, p *pki, v string) string {
			parts := strings.Split(v, ".")
			pl := validPayload()
			pl["nonce"] = testNonce + "x"
			parts[1] = b64json(pl)
			return strings.Join(parts, ".")
		}, want: ErrSignature},

		// client_id.
		{name: "client_id missing", edit: del("client_id"), want: ErrMissingParameter},
		{name: "client_id not a string", edit: set("client_id", 7), want: ErrParameterType},
		{name: "redirect_uri prefix", edit: set("client_id", "redirect_uri:https://"+testDomain+"/cb"), invocation: "redirect_uri:https://" + testDomain + "/cb", want: ErrClientIDPrefix},
		{name: "origin prefix", edit: set("client_id", "origin:https://"+testDomain), invocation: "origin:https://" + testDomain, want: ErrClientIDPrefix},
		{name: "pre-registered client", edit: set("client_id", testDomain), invocation: testDomain, want: ErrClientIDPrefix},
		{name: "x509_san_dns of an IP address", edit: set("client_id", PrefixX509SANDNS+"127.0.0.1"), invocation: PrefixX509SANDNS + "127.0.0.1", want: ErrClientIDDNSName},
		{name: "x509_san_dns of a non-name", edit: set("client_id", PrefixX509SANDNS+"bad_name.example"), invocation: PrefixX509SANDNS + "bad_name.example", want: ErrClientIDDNSName},
		{name: "DNS name not in the leaf", edit: func(_ *testing.T, _ *pki, _, pl map[string]any) {
			pl["client_id"] = PrefixX509SANDNS + "other.example"
			pl["response_uri"] = "https://other.example/openid4vp/response"
		}, invocation: PrefixX509SANDNS + "other.example", want: ErrClientIDSAN},
		{name: "another client_id in the invocation", invocation: PrefixX509SANDNS + "other.example", want: ErrClientIDMismatch},
		{name: "invocation client_id without prefix", invocation: testDomain, want: ErrClientIDMismatch},

		// Parameters.
		{name: "request inside", edit: set("request", "eyJ.e30.x"), want: ErrNestedRequest},
		{name: "request_uri inside", edit: set("request_uri", "https://"+testDomain+"/r"), want: ErrNestedRequest},
		{name: "transaction_data", edit: set("transaction_data", []string{"e30"}), want: ErrTransactionData},
		{name: "aud missing", edit: del("aud"), want: ErrMissingParameter},
		{name: "aud another", edit: set("aud", "https://wallet.example"), want: ErrAudience},
		{name: "aud an array", edit: set("aud", []string{SelfIssuedAudience}), want: ErrAudience},
		{name: "expired", edit: set("exp", testNow.Add(-time.Second).Unix()), want: ErrExpired},
		{name: "exp not a number", edit: set("exp", "soon"), want: ErrParameterType},
		{name: "iat in the future", edit: set("iat", testNow.Add(2*ClockSkew).Unix()), want: ErrIssuedAt},
		{name: "nbf in the future", edit: set("nbf", testNow.Add(2*ClockSkew).Unix()), want: ErrIssuedAt},
		{name: "exp before iat", edit: func(_ *testing.T, _ *pki, _, pl map[string]any) {
			pl["iat"], pl["exp"] = testNow.Add(30*time.Second).Unix(), testNow.Add(20*time.Second).Unix()
		}, want: ErrIssuedAt},
		{name: "response_type missing", edit: del("response_type"), want: ErrMissingParameter},
		{name: "response_type code", edit: set("response_type", "code"), want: ErrResponseType},
		{name: "response_mode missing", edit: del("response_mode"), want: ErrMissingParameter},
		{name: "response_mode fragment", edit: set("response_mode", "fragment"), want: ErrResponseMode},
		{name: "response_uri missing", edit: del("response_uri"), want: ErrMissingParameter},
		{name: "response_uri plain http", edit: set("response_uri", "http://"+testDomain+"/r"), want: ErrResponseURI},
		{name: "response_uri with fragment", edit: set("response_uri", "https://"+testDomain+"/r#f"), want: ErrResponseURI},
		{name: "response_uri relative", edit: set("response_uri", "/r"), want: ErrResponseURI},
		{name: "response_uri on another host", edit: set("response_uri", "https://attacker.example/r"), want: ErrResponseURIHost},
		{name: "response_uri on a subdomain", edit: set("response_uri", "https://x."+testDomain+"/r"), want: ErrResponseURIHost},
		{name: "redirect_uri with response_uri", edit: set("redirect_uri", "https://"+testDomain+"/cb"), want: ErrRedirectURI},
		{name: "nonce missing", edit: del("nonce"), want: ErrMissingParameter},
		{name: "nonce short", edit: set("nonce", "n-0S6_WzA2Mj"), want: ErrNonce},
		{name: "nonce with a space", edit: set("nonce", testNonce+" x"), want: ErrNonce},
		{name: "dcql_query and scope", edit: set("scope", "com.example.pid"), want: ErrQuery},
		{name: "neither dcql_query nor scope", edit: del("dcql_query"), want: ErrQuery},
		{name: "scope only", edit: func(_ *testing.T, _ *pki, _, pl map[string]any) {
			delete(pl, "dcql_query")
			pl["scope"] = "com.example.pid"
		}, want: ErrQuery},
		{name: "dcql_query broken", edit: set("dcql_query", map[string]any{"credentials": []any{}}), want: ErrDCQLCredentials},
		{name: "state a number", edit: set("state", 5), want: ErrState},
		{name: "state with a slash", edit: set("state", "a/b"), want: ErrState},
		{name: "no state for an unbound query", edit: func(t *testing.T, _ *pki, _, pl map[string]any) {
			delete(pl, "state")
			setDCQL(t, pl, func(c map[string]any) { c["require_cryptographic_holder_binding"] = false })
		}, want: ErrState},
		{name: "client_metadata missing", edit: del("client_metadata"), want: ErrMissingParameter},
		{name: "client_metadata a string", edit: set("client_metadata", `{"vp_formats_supported":{}}`), want: ErrClientMetadata},
		{name: "vp_formats_supported missing", edit: set("client_metadata", map[string]any{"jwks": map[string]any{"keys": []any{}}}), want: ErrClientMetadata},
		{name: "vp_formats_supported an array", edit: set("client_metadata", map[string]any{"vp_formats_supported": []string{FormatSDJWTVC}}), want: ErrClientMetadata},
		{name: "vp_formats_supported value not an object", edit: set("client_metadata", map[string]any{"vp_formats_supported": map[string]any{FormatSDJWTVC: []string{"ES256"}}}), want: ErrClientMetadata},
		{name: "format not in vp_formats_supported", edit: set("client_metadata", map[string]any{"vp_formats_supported": map[string]any{"mso_mdoc": map[string]any{}}}), want: ErrFormatNotSupported},
		{name: "jwks key without kid", edit: func(t *testing.T, _ *pki, _, pl map[string]any) {
			md := jsonOf(t, pl["client_metadata"])
			md["jwks"] = map[string]any{"keys": []any{map[string]any{"kty": "EC"}}}
			pl["client_metadata"] = md
		}, want: ErrClientMetadata},
		{name: "direct_post.jwt without a key", edit: set("response_mode", "direct_post.jwt"), want: ErrClientMetadata},
		{name: "verifier_info empty", edit: set("verifier_info", []any{}), want: ErrVerifierInfo},
		{name: "verifier_info an object", edit: set("verifier_info", map[string]any{"format": "x", "data": "y"}), want: ErrVerifierInfo},
		{name: "verifier_info without format", edit: set("verifier_info", []any{map[string]any{"data": "y"}}), want: ErrVerifierInfo},
		{name: "verifier_info data a number", edit: set("verifier_info", []any{map[string]any{"format": "x", "data": 1}}), want: ErrVerifierInfo},
		{name: "verifier_info for an unknown query", edit: set("verifier_info", []any{map[string]any{"format": "x", "data": "y", "credential_ids": []string{"nope"}}}), want: ErrVerifierInfo},
		{name: "verifier_info credential_ids empty", edit: set("verifier_info", []any{map[string]any{"format": "x", "data": "y", "credential_ids": []string{}}}), want: ErrVerifierInfo},
	}
}

// TestRequestObject runs every case under both suites: each breaks one
// rule and must be refused with that rule's sentinel; the valid ones pass.
func TestRequestObject(t *testing.T) {
	for _, suite := range []struct {
		name string
		sm2  bool
	}{{"ES256", false}, {"SM2", true}} {
		p := newPKI(t, suite.sm2)
		w := p.wallet()
		valid := sign(t, p.leafKey, p.validHeader(), validPayload())
		for _, c := range requestCases() {
			t.Run(suite.name+"/"+c.name, func(t *testing.T) {
				h, pl := p.validHeader(), validPayload()
				if c.edit != nil {
					c.edit(t, p, h, pl)
				}
				compact := sign(t, p.leafKey, h, pl)
				if c.compact != nil {
					compact = c.compact(t, p, valid)
				}
				inv := c.invocation
				if inv == "" {
					inv = testClientID
				}
				r, err := w.CheckRequestObject(compact, inv)
				if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
					t.Fatalf("got %v, want %v", err, c.want)
				}
				if err == nil && (r.ClientID != testClientID || r.Nonce != testNonce || r.DNSName != testDomain || len(r.DCQL.Credentials) != 1) {
					t.Fatalf("request %+v", r)
				}
			})
		}
	}
}

// TestSM2NotConfigured: without SM2Alg an SM2-signed request is refused.
func TestSM2NotConfigured(t *testing.T) {
	p := newPKI(t, true)
	w := p.wallet()
	w.SM2Alg = ""
	if _, err := w.CheckRequestObject(sign(t, p.leafKey, p.validHeader(), validPayload()), testClientID); !errors.Is(err, ErrAlg) {
		t.Fatalf("got %v", err)
	}
}

// TestRequestClock: the leaf's validity is checked at the wallet's clock.
func TestRequestClock(t *testing.T) {
	p := newPKI(t, false)
	w := p.wallet()
	pl := validPayload()
	later := testNow.Add(13 * time.Hour)
	pl["iat"], pl["exp"] = later.Unix(), later.Add(time.Minute).Unix()
	w.Now = func() time.Time { return later }
	if _, err := w.CheckRequestObject(sign(t, p.leafKey, p.validHeader(), pl), testClientID); !errors.Is(err, ErrChain) {
		t.Fatalf("expired leaf: %v", err)
	}
}
