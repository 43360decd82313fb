package wire

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// MaxDocumentSize bounds every document of this package: the request
// object, its payload, a vp_token, a direct_post answer.
const MaxDocumentSize = 1 << 20

// OpenID for Verifiable Presentations 1.0 (final) names this package speaks.
const (
	// ClientIDPrefixX509SANDNS is the Client Identifier Prefix of a verifier
	// authenticated by an X.509 certificate whose dNSName SAN is the rest
	// of the client_id (OpenID4VP 1.0 §5.9.3).
	ClientIDPrefixX509SANDNS = "x509_san_dns:"
	// RequestObjectType is the JWS "typ" of a Request Object (RFC 9101).
	RequestObjectType = "oauth-authz-req+jwt"
	// RequestObjectMediaType is the content type request_uri serves.
	RequestObjectMediaType = "application/" + RequestObjectType
	// SelfIssuedAudience is the Request Object's "aud" under static
	// discovery (OpenID4VP 1.0 §5.8).
	SelfIssuedAudience = "https://self-issued.me/v2"
	// ResponseTypeVPToken and ResponseModeDirectPost are the only response
	// type and mode Yinzheng requests use.
	ResponseTypeVPToken    = "vp_token"
	ResponseModeDirectPost = "direct_post"
	// InvocationScheme is the custom scheme of the invocation URL.
	InvocationScheme = "openid4vp"
	// FormatSDJWT is the SD-JWT VC credential format identifier.
	FormatSDJWT = "dc+sd-jwt"
	// FormatZK is Yinzheng's zero-knowledge presentation format: a Groth16
	// proof of the circuit statement ZKMeta describes (see Statement).
	FormatZK = "yinzheng-zk+groth16"
	// VerifierInfoRegistration is the verifier_info format of the
	// registrar's signed registration of the platform (a compact JWT), and
	// VerifierInfoStatus that of the registrar's status token the verifier
	// staples, so that the wallet never calls the registrar.
	VerifierInfoRegistration = "yinzheng-registration+jwt"
	VerifierInfoStatus       = "yinzheng-registration-status+jwt"
	// QueryIDZK and QueryIDSDJWT are the credential query ids Yinzheng
	// verifiers use; vp_token is keyed by them.
	QueryIDZK    = "yinzheng_zk"
	QueryIDSDJWT = "yinzheng_sd_jwt"
	// MaxRequestLifetime bounds exp - iat of a request object.
	MaxRequestLifetime = time.Hour
	// maxClockSkew is how far in the future a request object's iat may be.
	maxClockSkew = 5 * time.Minute
)

// Authorization error codes a wallet may answer with (OpenID4VP 1.0 §8.5,
// RFC 6749 §4.1.2.1).
const (
	ErrorAccessDenied            = "access_denied"
	ErrorInvalidRequest          = "invalid_request"
	ErrorInvalidClient           = "invalid_client"
	ErrorVPFormatsNotSupported   = "vp_formats_not_supported"
	ErrorInvalidRequestURIMethod = "invalid_request_uri_method"
	ErrorWalletUnavailable       = "wallet_unavailable"
)

// maxErrorCodeSize bounds an authorization error code: the registered ones
// are under 32 bytes.
const maxErrorCodeSize = 64

// ValidErrorCode reports whether code is an authorization error code as
// RFC 6749 §4.1.2.1 writes them (1*NQSCHAR: printable ASCII but '"' and
// '\'), of at most 64 bytes. An error response is posted by whoever holds
// the state, so its code is checked before anyone records or shows it.
func ValidErrorCode(code string) bool {
	if code == "" || len(code) > maxErrorCodeSize {
		return false
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ErrRequestObject means a request object breaks OpenID4VP 1.0 or
// Yinzheng's profile of it; the message names the rule.
var ErrRequestObject = errors.New("wire: request object refused")

// ErrResponseURI means a request object's response_uri is not an https
// URL on the client_id's host; errors wrapping it wrap ErrRequestObject too.
var ErrResponseURI = errors.New("wire: response_uri is not on the client_id's host")

// ErrVPToken means a vp_token or an authorization response is malformed.
var ErrVPToken = errors.New("wire: malformed vp_token")

func roErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRequestObject}, a...)...)
}

// RequestObject is the payload of a signed Request Object (JAR) for
// response_mode direct_post.
type RequestObject struct {
	Audience       string          `json:"aud"`
	IssuedAt       int64           `json:"iat"`
	Expires        int64           `json:"exp"`
	ClientID       string          `json:"client_id"`
	ResponseType   string          `json:"response_type"`
	ResponseMode   string          `json:"response_mode"`
	ResponseURI    string          `json:"response_uri"`
	Nonce          string          `json:"nonce"`
	State          string          `json:"state"`
	DCQLQuery      DCQLQuery       `json:"dcql_query"`
	ClientMetadata ClientMetadata  `json:"client_metadata"`
	VerifierInfo   []VerifierInfo  `json:"verifier_info"`
	RedirectURI    string          `json:"redirect_uri,omitempty"`
	Request        string          `json:"request,omitempty"`
	RequestURI     string          `json:"request_uri,omitempty"`
	Scope          string          `json:"scope,omitempty"`
	Extra          json.RawMessage `json:"presentation_definition,omitempty"`
	// TransactionData is read only to be refused: a wallet that does not
	// support transaction_data MUST refuse a request carrying it
	// (OpenID4VP 1.0 §5.1), where other unknown parameters are ignored.
	TransactionData json.RawMessage `json:"transaction_data,omitempty"`
}

// ClientMetadata is the verifier metadata a request carries.
type ClientMetadata struct {
	// VPFormatsSupported maps a format identifier to an object of
	// format-specific parameters (OpenID4VP 1.0 §11.1; their values are
	// not all strings: mso_mdoc's algorithms are COSE numbers).
	VPFormatsSupported map[string]json.RawMessage `json:"vp_formats_supported"`
}

// VerifierInfo is one attestation about the verifier (OpenID4VP 1.0 §5.11).
type VerifierInfo struct {
	Format        string   `json:"format"`
	Data          string   `json:"data"`
	CredentialIDs []string `json:"credential_ids,omitempty"`
}

// DCQLQuery is a Digital Credentials Query Language query (§6).
type DCQLQuery struct {
	Credentials    []CredentialQuery `json:"credentials"`
	CredentialSets json.RawMessage   `json:"credential_sets,omitempty"`
}

// CredentialQuery asks for one credential.
type CredentialQuery struct {
	ID                                string          `json:"id"`
	Format                            string          `json:"format"`
	Multiple                          bool            `json:"multiple,omitempty"`
	Meta                              json.RawMessage `json:"meta"`
	Claims                            []ClaimQuery    `json:"claims,omitempty"`
	ClaimSets                         [][]string      `json:"claim_sets,omitempty"`
	RequireCryptographicHolderBinding *bool           `json:"require_cryptographic_holder_binding,omitempty"`
	// TrustedAuthorities is read to be refused by Yinzheng's profile
	// (the verifier pins its issuer) rather than ignored.
	TrustedAuthorities json.RawMessage `json:"trusted_authorities,omitempty"`
}

// ClaimQuery names one claim by its path: strings for object members,
// non-negative integers for array indices, null for every element.
type ClaimQuery struct {
	ID   string `json:"id,omitempty"`
	Path []any  `json:"path"`
	// Values (value matching) is read to be refused by Yinzheng's
	// profile rather than ignored.
	Values json.RawMessage `json:"values,omitempty"`
}

// SDJWTMeta is the meta of a dc+sd-jwt credential query.
type SDJWTMeta struct {
	VCTValues []string `json:"vct_values"`
}

// ZKMeta is the meta of a FormatZK credential query: every public input of
// the circuit statement but the root, the nonce and the scope (the nonce
// is the request's, the scope its authenticated client_id).
type ZKMeta struct {
	Issuer     string     `json:"issuer"`
	CircuitID  string     `json:"circuit_id"`
	Epochs     []uint64   `json:"epochs"`
	Today      string     `json:"today"`
	BornAfter  *string    `json:"born_after"`
	BornBefore *string    `json:"born_before"`
	MinLevel   int        `json:"min_level"`
	Flags      []string   `json:"flags"`
	Predicates Predicates `json:"predicates"`
}

// ZKPresentation is the vp_token entry of a FormatZK query.
type ZKPresentation struct {
	CircuitID string `json:"circuit_id"`
	Epoch     uint64 `json:"epoch"`
	Pseudonym string `json:"pseudonym"`
	Proof     string `json:"proof"`
}

// DirectPostAnswer is the JSON body of the verifier's 200 answer to a
// direct_post (OpenID4VP 1.0 §8.2).
type DirectPostAnswer struct {
	RedirectURI string `json:"redirect_uri,omitempty"`
}

// ClientIDOf returns the x509_san_dns client_id of domain.
func ClientIDOf(domain string) string { return ClientIDPrefixX509SANDNS + domain }

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidDNSName reports whether s is a lower-case DNS name of at least
// two labels, or "localhost" (development on loopback).
func ValidDNSName(s string) bool {
	if s == "localhost" {
		return true
	}
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !dnsLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// DomainOfClientID returns the DNS name of an x509_san_dns client_id.
func DomainOfClientID(clientID string) (string, error) {
	domain, ok := strings.CutPrefix(clientID, ClientIDPrefixX509SANDNS)
	if !ok {
		return "", roErr("client_id %q has not the %s prefix", clientID, ClientIDPrefixX509SANDNS)
	}
	if !ValidDNSName(domain) {
		return "", roErr("client_id %q: %q is not a DNS name", clientID, domain)
	}
	return domain, nil
}

// IsLoopback reports whether host (no port) is a loopback name or address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckHTTPSURL checks that raw is an absolute https URL, or http on a
// loopback host, without user info or fragment, and returns it parsed.
func CheckHTTPSURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%s %q is not an absolute URL", what, raw)
	}
	if u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("%s %q has user info or a fragment", what, raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("%s %q is not https (plain http only on loopback)", what, raw)
	}
	return u, nil
}

var (
	queryID   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	stateChar = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
)

// ParseRequestObject reads a request object payload (at most
// MaxDocumentSize bytes, one JSON object, strictjson's rules on UTF-8,
// duplicate and case-variant member names) and checks it with Check.
// Members it does not know are ignored, at every level of the object, as
// OpenID4VP 1.0 requires of wallets (§5: "The Wallet MUST ignore any
// unrecognized parameters"; §6: DCQL implementations "MUST ignore any
// unknown properties"; §11.1 for client_metadata); transaction_data is
// known, to be refused (Check).
func ParseRequestObject(payload []byte, now time.Time) (*RequestObject, error) {
	var raw json.RawMessage
	if err := strictjson.Unmarshal(payload, MaxDocumentSize, &raw); err != nil {
		return nil, roErr("payload: %v", err)
	}
	known, err := knownMembers(raw, reflect.TypeFor[RequestObject]())
	if err != nil {
		return nil, roErr("payload: %v", err)
	}
	var ro RequestObject
	if err := strictjson.Unmarshal(known, 0, &ro); err != nil {
		return nil, roErr("payload: %v", err)
	}
	if err := ro.Check(now); err != nil {
		return nil, err
	}
	return &ro, nil
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// knownMembers returns raw without the object members that t (a struct,
// or slices of them, field by field) has no json field for. A member
// that differs from a field's name only in letter case is kept, for
// strictjson to refuse (one document, one reading). Values t holds as
// json.RawMessage, maps or interfaces are kept whole.
func knownMembers(raw json.RawMessage, t reflect.Type) (json.RawMessage, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == rawMessageType:
		return raw, nil
	case t.Kind() == reflect.Slice:
		var a []json.RawMessage
		if json.Unmarshal(raw, &a) != nil || a == nil {
			return raw, nil // not an array: the strict decoding says so
		}
		for i := range a {
			var err error
			if a[i], err = knownMembers(a[i], t.Elem()); err != nil {
				return nil, err
			}
		}
		return json.Marshal(a)
	case t.Kind() != reflect.Struct:
		return raw, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return raw, nil
	}
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" && f.IsExported() {
			fields[name] = f.Type
		}
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		ft, ok := fields[k]
		if !ok {
			for name := range fields {
				if strings.EqualFold(name, k) {
					out[k] = v
				}
			}
			continue
		}
		var err error
		if out[k], err = knownMembers(v, ft); err != nil {
			return nil, err
		}
	}
	return json.Marshal(out)
}

// Check applies OpenID4VP 1.0's rules, and Yinzheng's profile, to a request
// object: the x509_san_dns client_id, vp_token over direct_post to a
// response_uri on the client_id's host and without redirect_uri, no nested
// request, the static-discovery aud, a fresh validity window, nonce and
// state, the verifier metadata and a DCQL query of exactly one Yinzheng
// credential query whose format the metadata lists.
func (ro *RequestObject) Check(now time.Time) error {
	domain, err := DomainOfClientID(ro.ClientID)
	if err != nil {
		return err
	}
	if ro.ResponseType != ResponseTypeVPToken {
		return roErr("response_type %q, want %q", ro.ResponseType, ResponseTypeVPToken)
	}
	if ro.ResponseMode != ResponseModeDirectPost {
		return roErr("response_mode %q, want %q", ro.ResponseMode, ResponseModeDirectPost)
	}
	if ro.RedirectURI != "" {
		return roErr("redirect_uri must not be present with response_mode direct_post")
	}
	if ro.Request != "" || ro.RequestURI != "" {
		return roErr("a request object must not contain request or request_uri")
	}
	if len(ro.TransactionData) != 0 {
		return roErr("transaction_data is not supported (OpenID4VP 1.0 §5.1: such a wallet MUST refuse it)")
	}
	if ro.Scope != "" || len(ro.Extra) != 0 {
		return roErr("scope and presentation_definition are not used: the query is dcql_query")
	}
	u, err := CheckHTTPSURL("response_uri", ro.ResponseURI)
	if err != nil {
		return fmt.Errorf("%w: %w: %v", ErrRequestObject, ErrResponseURI, err)
	}
	if u.Hostname() != domain {
		return fmt.Errorf("%w: %w: response_uri host %q is not the client_id's %q", ErrRequestObject, ErrResponseURI, u.Hostname(), domain)
	}
	if ro.Audience != SelfIssuedAudience {
		return roErr("aud %q, want %q", ro.Audience, SelfIssuedAudience)
	}
	iat, exp := time.Unix(ro.IssuedAt, 0), time.Unix(ro.Expires, 0)
	switch {
	case ro.IssuedAt <= 0 || ro.Expires <= 0:
		return roErr("iat and exp are required")
	case !exp.After(iat) || exp.Sub(iat) > MaxRequestLifetime:
		return roErr("exp - iat must be positive and at most %s", MaxRequestLifetime)
	case iat.After(now.Add(maxClockSkew)):
		return roErr("issued in the future (iat %s)", iat.UTC().Format(time.RFC3339))
	case !now.Before(exp):
		return roErr("expired at %s", exp.UTC().Format(time.RFC3339))
	}
	nonce, err := base64.RawURLEncoding.Strict().DecodeString(ro.Nonce)
	if err != nil || len(nonce) < schemas.MinNonceBytes || len(nonce) > schemas.MaxNonceBytes {
		return roErr("nonce must be base64url of %d to %d random bytes", schemas.MinNonceBytes, schemas.MaxNonceBytes)
	}
	if len(ro.State) > 256 || !stateChar.MatchString(ro.State) {
		return roErr("state must be 1 to 256 URL-safe characters")
	}
	if err := ro.DCQLQuery.Check(); err != nil {
		return err
	}
	q := ro.DCQLQuery.Credentials[0]
	if len(ro.ClientMetadata.VPFormatsSupported) == 0 {
		return roErr("client_metadata.vp_formats_supported is empty")
	}
	for name, v := range ro.ClientMetadata.VPFormatsSupported {
		if m := strings.TrimSpace(string(v)); !strings.HasPrefix(m, "{") {
			return roErr("client_metadata.vp_formats_supported[%q] is not an object", name)
		}
	}
	if _, ok := ro.ClientMetadata.VPFormatsSupported[q.Format]; !ok {
		return roErr("client_metadata.vp_formats_supported does not list %s", q.Format)
	}
	if ro.VerifierInfo != nil && len(ro.VerifierInfo) == 0 {
		return roErr("verifier_info must not be empty when present")
	}
	for _, vi := range ro.VerifierInfo {
		if vi.Format == "" || vi.Data == "" {
			return roErr("every verifier_info entry needs format and data")
		}
		for _, id := range vi.CredentialIDs {
			if id != q.ID {
				return roErr("verifier_info names credential query %q, which the query has not", id)
			}
		}
	}
	return nil
}

// Check applies DCQL's structural rules (OpenID4VP 1.0 §6) and Yinzheng's
// profile: exactly one credential query, of FormatZK (id QueryIDZK, meta
// ZKMeta, no claims) or FormatSDJWT (id QueryIDSDJWT, vct_values, one
// top-level claim path per claim), holder binding required.
func (q *DCQLQuery) Check() error {
	if len(q.Credentials) == 0 {
		return roErr("dcql_query.credentials must be a non-empty array")
	}
	seen := map[string]bool{}
	for _, c := range q.Credentials {
		if !queryID.MatchString(c.ID) {
			return roErr("credential query id %q is not a non-empty string of alphanumerics, _ and -", c.ID)
		}
		if seen[c.ID] {
			return roErr("credential query id %q is used twice", c.ID)
		}
		seen[c.ID] = true
		if c.Format == "" {
			return roErr("credential query %q has no format", c.ID)
		}
		if m := strings.TrimSpace(string(c.Meta)); !strings.HasPrefix(m, "{") {
			return roErr("credential query %q: meta must be an object", c.ID)
		}
		claimIDs := map[string]bool{}
		for _, cl := range c.Claims {
			if len(cl.Path) == 0 {
				return roErr("credential query %q: a claim path must be a non-empty array", c.ID)
			}
			for _, el := range cl.Path {
				switch v := el.(type) {
				case string, nil:
				case float64:
					if v < 0 || v != float64(int64(v)) {
						return roErr("credential query %q: claim path index %v is not a non-negative integer", c.ID, v)
					}
				default:
					return roErr("credential query %q: claim path element %v is not a string, index or null", c.ID, v)
				}
			}
			if cl.ID != "" {
				if !queryID.MatchString(cl.ID) || claimIDs[cl.ID] {
					return roErr("credential query %q: claim id %q is malformed or repeated", c.ID, cl.ID)
				}
				claimIDs[cl.ID] = true
			} else if len(c.ClaimSets) > 0 {
				return roErr("credential query %q: claims need ids when claim_sets is present", c.ID)
			}
		}
		if len(c.ClaimSets) > 0 && len(c.Claims) == 0 {
			return roErr("credential query %q: claim_sets without claims", c.ID)
		}
		for _, set := range c.ClaimSets {
			for _, id := range set {
				if !claimIDs[id] {
					return roErr("credential query %q: claim_sets names unknown claim %q", c.ID, id)
				}
			}
		}
	}
	// Yinzheng's profile.
	if len(q.Credentials) != 1 || len(q.CredentialSets) != 0 {
		return roErr("a Yinzheng request has exactly one credential query and no credential_sets")
	}
	c := q.Credentials[0]
	if c.Multiple || len(c.ClaimSets) > 0 || (c.RequireCryptographicHolderBinding != nil && !*c.RequireCryptographicHolderBinding) {
		return roErr("credential query %q: multiple, claim_sets and unbound presentations are not used", c.ID)
	}
	if len(c.TrustedAuthorities) != 0 || slices.ContainsFunc(c.Claims, func(cl ClaimQuery) bool { return len(cl.Values) != 0 }) {
		return roErr("credential query %q: trusted_authorities and claim values are not used", c.ID)
	}
	switch c.Format {
	case FormatZK:
		if c.ID != QueryIDZK || len(c.Claims) != 0 {
			return roErr("a %s query has id %s and no claims", FormatZK, QueryIDZK)
		}
		if _, err := c.ZKMeta(); err != nil {
			return err
		}
	case FormatSDJWT:
		if c.ID != QueryIDSDJWT || len(c.Claims) == 0 {
			return roErr("a %s query has id %s and names its claims", FormatSDJWT, QueryIDSDJWT)
		}
		var m SDJWTMeta
		meta, err := knownMembers(c.Meta, reflect.TypeFor[SDJWTMeta]())
		if err != nil || strictjson.Unmarshal(meta, MaxDocumentSize, &m) != nil || !slices.Equal(m.VCTValues, []string{schemas.VCT}) {
			return roErr("a %s query's meta must be {\"vct_values\":[%q]}", FormatSDJWT, schemas.VCT)
		}
		if _, err := c.ClaimNames(); err != nil {
			return err
		}
	default:
		return roErr("credential query format %q, want %s or %s", c.Format, FormatZK, FormatSDJWT)
	}
	return nil
}

// ZKMeta reads the meta of a FormatZK query strictly.
func (c *CredentialQuery) ZKMeta() (*ZKMeta, error) {
	var m ZKMeta
	if err := strictjson.Unmarshal(c.Meta, MaxDocumentSize, &m); err != nil {
		return nil, roErr("%s meta: %v", FormatZK, err)
	}
	if m.Issuer == "" || m.CircuitID == "" || len(m.Epochs) == 0 || m.Today == "" {
		return nil, roErr("%s meta needs issuer, circuit_id, epochs and today", FormatZK)
	}
	if m.Flags == nil {
		m.Flags = []string{}
	}
	return &m, nil
}

// ClaimNames returns the top-level claim names of an SD-JWT query, in the
// query's order.
func (c *CredentialQuery) ClaimNames() ([]string, error) {
	names := make([]string, 0, len(c.Claims))
	for _, cl := range c.Claims {
		name, ok := cl.Path[0].(string)
		if len(cl.Path) != 1 || !ok || name == "" {
			return nil, roErr("credential query %q: Yinzheng claims are top-level names (path [\"name\"])", c.ID)
		}
		if slices.Contains(names, name) {
			return nil, roErr("credential query %q: claim %q is asked for twice", c.ID, name)
		}
		names = append(names, name)
	}
	return names, nil
}

// NewRequestObject turns a Yinzheng request (r.Scope must be the client_id,
// r.ID is the state) into the request object that carries it to a wallet,
// issued at iat, answered at responseURI, with the given verifier_info.
func NewRequestObject(r *Request, responseURI string, iat time.Time, info []VerifierInfo) (*RequestObject, error) {
	exp, err := time.Parse(time.RFC3339, r.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("wire: expires_at: %w", err)
	}
	ro := &RequestObject{
		Audience: SelfIssuedAudience, IssuedAt: iat.Unix(), Expires: exp.Unix(),
		ClientID: r.Scope, ResponseType: ResponseTypeVPToken, ResponseMode: ResponseModeDirectPost,
		ResponseURI: responseURI, Nonce: r.Nonce, State: r.ID, VerifierInfo: info,
	}
	var q CredentialQuery
	if r.SDJWT != nil {
		meta, _ := json.Marshal(SDJWTMeta{VCTValues: []string{schemas.VCT}})
		q = CredentialQuery{ID: QueryIDSDJWT, Format: FormatSDJWT, Meta: meta}
		for _, c := range r.SDJWT.Claims {
			q.Claims = append(q.Claims, ClaimQuery{Path: []any{c}})
		}
		ro.ClientMetadata.VPFormatsSupported = map[string]json.RawMessage{FormatSDJWT: json.RawMessage(
			`{"sd-jwt_alg_values":["SM2","ES256"],"kb-jwt_alg_values":["SM2","ES256"]}`)}
	} else {
		meta, err := json.Marshal(ZKMeta{Issuer: r.Issuer, CircuitID: r.CircuitID, Epochs: r.Epochs, Today: r.Today,
			BornAfter: r.BornAfter, BornBefore: r.BornBefore, MinLevel: r.MinLevel, Flags: r.Flags, Predicates: r.Predicates})
		if err != nil {
			return nil, err
		}
		q = CredentialQuery{ID: QueryIDZK, Format: FormatZK, Meta: meta}
		ro.ClientMetadata.VPFormatsSupported = map[string]json.RawMessage{FormatZK: json.RawMessage(`{"proof_alg_values":["groth16-bn254"]}`)}
	}
	ro.DCQLQuery.Credentials = []CredentialQuery{q}
	return ro, nil
}

// YinzhengRequest reads the Yinzheng request a checked request object
// carries. Its Scope and Audience are the client_id: the pseudonym scope
// and the key binding audience are the authenticated verifier's identity,
// never a member a verifier fills freely. An SD-JWT request names no
// issuer (the verifier checks the issuer it pins).
func (ro *RequestObject) YinzhengRequest() (*Request, error) {
	if len(ro.DCQLQuery.Credentials) != 1 {
		return nil, roErr("not exactly one credential query")
	}
	q := &ro.DCQLQuery.Credentials[0]
	r := &Request{
		Version: Version, ID: ro.State, Nonce: ro.Nonce, Scope: ro.ClientID, Audience: ro.ClientID,
		ExpiresAt: time.Unix(ro.Expires, 0).UTC().Format(time.RFC3339), Flags: []string{},
	}
	switch q.Format {
	case FormatZK:
		m, err := q.ZKMeta()
		if err != nil {
			return nil, err
		}
		r.Issuer, r.CircuitID, r.Epochs, r.Today = m.Issuer, m.CircuitID, m.Epochs, m.Today
		r.BornAfter, r.BornBefore, r.MinLevel, r.Flags, r.Predicates = m.BornAfter, m.BornBefore, m.MinLevel, m.Flags, m.Predicates
	case FormatSDJWT:
		names, err := q.ClaimNames()
		if err != nil {
			return nil, err
		}
		r.SDJWT = &SDJWTRequest{Claims: names}
	default:
		return nil, roErr("credential query format %q", q.Format)
	}
	return r, nil
}

// InvocationURL is the openid4vp:// link (or QR code) that hands a request
// to a wallet by reference.
func InvocationURL(clientID, requestURI string) string {
	return InvocationScheme + "://?" + url.Values{"client_id": {clientID}, "request_uri": {requestURI}}.Encode()
}

// ParseInvocation reads an invocation URL: exactly client_id and
// request_uri (request by value is not accepted: the request must be
// signed and Yinzheng's wallets fetch it), and optionally
// request_uri_method get or post (the wallet fetches with GET either way).
func ParseInvocation(raw string) (clientID, requestURI string, err error) {
	if len(raw) > 8<<10 {
		return "", "", roErr("invocation URL too long")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != InvocationScheme {
		return "", "", roErr("not an %s:// invocation URL", InvocationScheme)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", "", roErr("invocation URL query: %v", err)
	}
	for k, v := range q {
		if len(v) != 1 {
			return "", "", roErr("invocation parameter %s given %d times", k, len(v))
		}
		if k != "client_id" && k != "request_uri" && k != "request_uri_method" {
			return "", "", roErr("invocation parameter %s is not accepted (only client_id and request_uri: the request must be signed)", k)
		}
	}
	// OpenID4VP 1.0 §5.1: "get" or "post" (case-sensitive); a wallet not
	// supporting post, as this one, fetches with GET all the same.
	if m := q.Get("request_uri_method"); q.Has("request_uri_method") && m != "get" && m != "post" {
		return "", "", roErr("request_uri_method %q is neither get nor post (%s)", m, ErrorInvalidRequestURIMethod)
	}
	clientID, requestURI = q.Get("client_id"), q.Get("request_uri")
	if clientID == "" || requestURI == "" {
		return "", "", roErr("the invocation URL needs client_id and request_uri")
	}
	if _, err := DomainOfClientID(clientID); err != nil {
		return "", "", err
	}
	if _, err := CheckHTTPSURL("request_uri", requestURI); err != nil {
		return "", "", roErr("%v", err)
	}
	return clientID, requestURI, nil
}

// VPToken is the vp_token of a DCQL response: one or more presentations per
// credential query id.
type VPToken map[string][]json.RawMessage

// ParseVPToken reads a vp_token strictly: a JSON object of at most
// MaxDocumentSize bytes whose keys are credential query ids and whose
// values are non-empty arrays.
func ParseVPToken(data []byte) (VPToken, error) {
	var t VPToken
	if err := strictjson.Unmarshal(data, MaxDocumentSize, &t); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVPToken, err)
	}
	if len(t) == 0 {
		return nil, fmt.Errorf("%w: no presentation", ErrVPToken)
	}
	for id, ps := range t {
		if !queryID.MatchString(id) {
			return nil, fmt.Errorf("%w: key %q is not a credential query id", ErrVPToken, id)
		}
		if len(ps) == 0 {
			return nil, fmt.Errorf("%w: %s has an empty array", ErrVPToken, id)
		}
	}
	return t, nil
}

// Presentation returns the one presentation for the request object's
// query as a Yinzheng presentation answering r (the request the object
// carries).
func (t VPToken) Presentation(r *Request) (*Presentation, error) {
	id := QueryIDZK
	if r.SDJWT != nil {
		id = QueryIDSDJWT
	}
	if len(t) != 1 || len(t[id]) != 1 {
		return nil, fmt.Errorf("%w: want exactly one presentation, for %s", ErrVPToken, id)
	}
	raw := t[id][0]
	p := &Presentation{Version: Version, RequestID: r.ID}
	if r.SDJWT != nil {
		p.Type = TypeSDJWT
		if err := strictjson.Unmarshal(raw, MaxDocumentSize, &p.SDJWT); err != nil || p.SDJWT == "" {
			return nil, fmt.Errorf("%w: a %s presentation is an SD-JWT string", ErrVPToken, FormatSDJWT)
		}
		return p, nil
	}
	var z ZKPresentation
	if err := strictjson.Unmarshal(raw, MaxDocumentSize, &z); err != nil {
		return nil, fmt.Errorf("%w: %s presentation: %v", ErrVPToken, FormatZK, err)
	}
	if z.CircuitID == "" || z.Pseudonym == "" || z.Proof == "" {
		return nil, fmt.Errorf("%w: a %s presentation needs circuit_id, epoch, pseudonym and proof", ErrVPToken, FormatZK)
	}
	epoch := z.Epoch
	p.Type, p.CircuitID, p.Epoch, p.Pseudonym, p.Proof = TypeZK, z.CircuitID, &epoch, z.Pseudonym, z.Proof
	return p, nil
}

// NewVPToken wraps a Yinzheng presentation as the vp_token of the query it
// answers.
func NewVPToken(p *Presentation) ([]byte, error) {
	switch p.Type {
	case TypeSDJWT:
		return json.Marshal(map[string][]string{QueryIDSDJWT: {p.SDJWT}})
	case TypeZK:
		if p.Epoch == nil {
			return nil, errors.New("wire: zk presentation without epoch")
		}
		return json.Marshal(map[string][]ZKPresentation{QueryIDZK: {{CircuitID: p.CircuitID, Epoch: *p.Epoch, Pseudonym: p.Pseudonym, Proof: p.Proof}}})
	}
	return nil, fmt.Errorf("wire: presentation type %q", p.Type)
}

// ErrIdentifier means an issuer's or a registrar's identifier is not
// https://host[/path] without query, fragment, user or trailing slash.
var ErrIdentifier = errors.New("wire: not an identifier URL")

// CheckIdentifier accepts an issuer's or a registrar's identifier: an https
// URL with a host and an optional path, without query, fragment, user
// information or trailing slash (the URLs built from it, such as a status
// list's, must stay https and on that host).
func CheckIdentifier(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %q is not a URL", ErrIdentifier, s)
	case u.Scheme != "https":
		return fmt.Errorf("%w: %q must be an https URL", ErrIdentifier, s)
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.HasSuffix(s, "/"):
		return fmt.Errorf("%w: %q must be https://host[/path] without query, fragment, user or trailing slash", ErrIdentifier, s)
	}
	return nil
}
