package httpapi

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/openid4vci"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/wire"
)

// offer is a pre-authorized code waiting for its token request.
type offer struct {
	subject  []byte
	txCode   []byte
	attempts int
	doc      [32]byte // the offer URI's id, dropped with the offer
	expires  time.Time
}

// offerDoc is the credential offer served at its credential_offer_uri.
type offerDoc struct {
	body    []byte
	expires time.Time
}

// grant is an access token: the subject of its offer, and once the SD-JWT
// request has issued, the zero-knowledge credential of that issuance
// waiting for its own request.
type grant struct {
	subject    []byte
	expires    time.Time
	busy       bool // an issuance under this token is in flight
	issued     bool // the SD-JWT request has issued
	zk         json.RawMessage
	commitment string
}

// claimDisplay are the display names of the SD-JWT VC's claims.
var claimDisplay = map[string][2]string{ // zh-CN, en
	schemas.ClaimWanghao:                 {"网号", "Network ID"},
	schemas.ClaimName:                    {"姓名", "Name"},
	schemas.ClaimBirthDate:               {"出生日期", "Date of birth"},
	schemas.ClaimAgeOver14:               {"年满14周岁", "Aged 14 or over"},
	schemas.ClaimAgeOver18:               {"年满18周岁", "Aged 18 or over"},
	schemas.ClaimAgeOver60:               {"年满60周岁", "Aged 60 or over"},
	schemas.ClaimDocType:                 {"证件类型", "Document type"},
	schemas.ClaimLevel:                   {"认证等级", "Verification level"},
	schemas.ClaimRegion:                  {"地区", "Region"},
	schemas.ClaimGuardianConsent:         {"监护人同意", "Guardian consent"},
	schemas.ClaimGuardianAcknowledgement: {"监护人知悉", "Guardian acknowledgement"},
}

var credentialDisplay = []openid4vci.Display{
	{Name: "网证", Locale: "zh-CN", Description: "网络身份认证凭证"},
	{Name: "Wangzheng", Locale: "en", Description: "Network identity credential"},
}

// Metadata returns the credential issuer metadata the service publishes.
func (s *Service) Metadata() (*openid4vci.CredentialIssuerMetadata, error) {
	base := s.opts.PublicURL
	alg := s.meta.JWK.Alg()
	specs, err := schemas.ClaimSpecs()
	if err != nil {
		return nil, err
	}
	var claims []openid4vci.Claim
	for _, c := range specs {
		d, ok := claimDisplay[c.Name]
		if !ok {
			continue // iss, iat, vct, cnf, status: not claims about the person
		}
		claims = append(claims, openid4vci.Claim{Path: []string{c.Name}, Mandatory: c.Required,
			Display: []openid4vci.Display{{Name: d[0], Locale: "zh-CN"}, {Name: d[1], Locale: "en"}}})
	}
	zkClaims := []openid4vci.Claim{}
	for _, name := range []string{schemas.ClaimBirthDate, schemas.ClaimLevel, schemas.ClaimGuardianConsent, schemas.ClaimGuardianAcknowledgement} {
		d := claimDisplay[name]
		zkClaims = append(zkClaims, openid4vci.Claim{Path: []string{name},
			Display: []openid4vci.Display{{Name: d[0], Locale: "zh-CN"}, {Name: d[1], Locale: "en"}}})
	}
	return &openid4vci.CredentialIssuerMetadata{
		CredentialIssuer:        s.meta.Issuer,
		CredentialEndpoint:      base + "/credential",
		NonceEndpoint:           base + "/nonce",
		BatchCredentialIssuance: &openid4vci.BatchCredentialIssuance{BatchSize: s.opts.BatchSize},
		Display:                 []openid4vci.Display{{Name: "银证签发方", Locale: "zh-CN"}, {Name: "Yinzheng issuer", Locale: "en"}},
		CredentialConfigurationsSupported: map[string]openid4vci.CredentialConfiguration{
			openid4vci.ConfigSDJWT: {
				Format: openid4vci.FormatSDJWT, VCT: s.meta.VCT,
				CryptographicBindingMethodsSupported: []string{"jwk"},
				CredentialSigningAlgValuesSupported:  []string{alg},
				ProofTypesSupported: map[string]openid4vci.ProofType{
					openid4vci.ProofTypeJWT: {ProofSigningAlgValuesSupported: []string{alg}}},
				CredentialMetadata: &openid4vci.CredentialMetadata{Display: credentialDisplay, Claims: claims},
			},
			openid4vci.ConfigZK: {
				Format:                               openid4vci.FormatZK,
				CryptographicBindingMethodsSupported: []string{openid4vci.HolderCommitmentMember},
				CredentialMetadata:                   &openid4vci.CredentialMetadata{Display: credentialDisplay, Claims: zkClaims},
				ProofSystem:                          "groth16-bn254",
				CircuitID:                            s.meta.CircuitID, SchemaID: s.meta.SchemaID, AccumulatorDepth: s.meta.Depth,
				VerifyingKeyURI:    base + "/" + publication.VerifyingKeyName,
				AccumulatorRootURI: base + "/" + publication.LatestRootName,
			},
		},
	}, nil
}

// wellKnownPath checks the {path...} of a well-known request: the path of
// the issuer identifier (§12.2.2), or none for an identifier without one.
func (s *Service) wellKnownPath(r *http.Request) bool {
	want, _ := strings.CutPrefix(strings.TrimPrefix(s.meta.Issuer, "https://"), hostOf(s.meta.Issuer))
	return "/"+r.PathValue("path") == want || (r.PathValue("path") == "" && want == "")
}

func hostOf(u string) string {
	rest := strings.TrimPrefix(u, "https://")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i]
	}
	return rest
}

func (s *Service) credentialIssuerMetadata(w http.ResponseWriter, r *http.Request) {
	if !s.wellKnownPath(r) {
		httpserv.WriteError(w, http.StatusNotFound, "no credential issuer at this path")
		return
	}
	m, err := s.Metadata()
	if err != nil {
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	w.Header().Set("Cache-Control", cacheMetadata)
	httpserv.WriteJSON(w, http.StatusOK, m)
}

func (s *Service) authorizationServerMetadata(w http.ResponseWriter, r *http.Request) {
	if !s.wellKnownPath(r) {
		httpserv.WriteError(w, http.StatusNotFound, "no authorization server at this path")
		return
	}
	w.Header().Set("Cache-Control", cacheMetadata)
	httpserv.WriteJSON(w, http.StatusOK, openid4vci.AuthorizationServerMetadata{
		Issuer:              s.meta.Issuer,
		TokenEndpoint:       s.opts.PublicURL + "/token",
		GrantTypesSupported: []string{openid4vci.GrantPreAuthorizedCode},
		PreAuthorizedGrantAnonymousAccessSupported: true,
	})
}

func (s *Service) jwtVCIssuerMetadata(w http.ResponseWriter, r *http.Request) {
	key, err := json.Marshal(s.meta.JWK)
	if err != nil {
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	var jwk map[string]any
	if err := json.Unmarshal(key, &jwk); err != nil {
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	jwk["kid"] = s.meta.KeyID
	jwk["use"] = "sig"
	jwk["alg"] = s.meta.JWK.Alg()
	w.Header().Set("Cache-Control", cacheMetadata)
	httpserv.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer": s.meta.Issuer,
		"jwks":   map[string]any{"keys": []any{jwk}},
	})
}

// Enrolment is the admin API's answer to an enrolment: the offer, where a
// wallet fetches it, the link for a QR code, and the tx_code the operator
// gives the person out of band (never in the link).
type Enrolment struct {
	CredentialOffer    openid4vci.CredentialOffer `json:"credential_offer"`
	CredentialOfferURI string                     `json:"credential_offer_uri"`
	OfferLink          string                     `json:"offer_link"`
	TxCode             string                     `json:"tx_code"`
	ExpiresIn          int64                      `json:"expires_in"`
}

// enrol creates an offer for subject (already checked).
func (s *Service) enrol(subject []byte) (*Enrolment, error) {
	code, codeKey, err := secret()
	if err != nil {
		return nil, err
	}
	id, idKey, err := secret()
	if err != nil {
		return nil, err
	}
	tx, err := txCode()
	if err != nil {
		return nil, err
	}
	o := openid4vci.CredentialOffer{
		CredentialIssuer:           s.meta.Issuer,
		CredentialConfigurationIDs: []string{openid4vci.ConfigSDJWT, openid4vci.ConfigZK},
		Grants: openid4vci.Grants{PreAuthorizedCode: &openid4vci.PreAuthorizedCodeGrant{
			PreAuthorizedCode: code,
			TxCode: &openid4vci.TxCode{InputMode: "numeric", Length: TxCodeLength,
				Description: "输入签发方工作人员给您的验证码 / Enter the code the issuer's operator gave you"},
		}},
	}
	body, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	expires := s.opts.Now().Add(s.opts.OfferTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.roomLocked(); err != nil {
		return nil, err
	}
	s.offers[codeKey] = &offer{subject: subject, txCode: []byte(tx), doc: idKey, expires: expires}
	s.docs[idKey] = &offerDoc{body: body, expires: expires}
	uri := s.opts.PublicURL + "/offers/" + id
	return &Enrolment{CredentialOffer: o, CredentialOfferURI: uri, OfferLink: openid4vci.OfferLink(uri),
		TxCode: tx, ExpiresIn: int64(s.opts.OfferTTL / time.Second)}, nil
}

// offerByReference serves GET /offers/{id}: the credential offer behind a
// credential_offer_uri, while its code is unredeemed.
func (s *Service) offerByReference(w http.ResponseWriter, r *http.Request) {
	key := sha256.Sum256([]byte(r.PathValue("id")))
	now := s.opts.Now()
	s.mu.Lock()
	d, ok := s.docs[key]
	if ok && !now.Before(d.expires) {
		delete(s.docs, key)
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		httpserv.WriteError(w, http.StatusNotFound, "no such credential offer (unknown, expired or already redeemed)")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.Write(d.body)
}

// token exchanges a pre-authorized code and its tx_code for an access token
// (OpenID4VCI §6). The code is single use; a wrong tx_code counts against
// MaxTxCodeAttempts, after which the offer is gone.
func (s *Service) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, httpserv.BodyError(err), openid4vci.ErrorInvalidRequest)
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != openid4vci.GrantPreAuthorizedCode {
		oauthError(w, httpserv.Errorf(http.StatusBadRequest, "grant_type must be %s", openid4vci.GrantPreAuthorizedCode), openid4vci.ErrorUnsupportedGrantType)
		return
	}
	code := r.PostForm.Get("pre-authorized_code")
	if code == "" {
		oauthError(w, httpserv.Errorf(http.StatusBadRequest, "pre-authorized_code is missing"), openid4vci.ErrorInvalidRequest)
		return
	}
	tx, hasTx := r.PostForm["tx_code"]
	key := sha256.Sum256([]byte(code))
	now := s.opts.Now()
	s.mu.Lock()
	o, ok := s.offers[key]
	if ok && !now.Before(o.expires) {
		s.dropOfferLocked(key, o)
		ok = false
	}
	if !ok {
		s.mu.Unlock()
		oauthError(w, httpserv.Errorf(http.StatusBadRequest, "pre-authorized code is unknown, expired or already used"), openid4vci.ErrorInvalidGrant)
		return
	}
	switch {
	case o.txCode != nil && !hasTx:
		s.mu.Unlock()
		oauthError(w, httpserv.Errorf(http.StatusBadRequest, "tx_code is missing: this offer needs the code the operator gave the person"), openid4vci.ErrorInvalidRequest)
		return
	case o.txCode == nil && hasTx:
		s.mu.Unlock()
		oauthError(w, httpserv.Errorf(http.StatusBadRequest, "tx_code was sent, but this offer has none"), openid4vci.ErrorInvalidRequest)
		return
	case o.txCode != nil && (len(tx) != 1 || subtle.ConstantTimeCompare([]byte(tx[0]), o.txCode) != 1):
		o.attempts++
		left := s.opts.MaxTxCodeAttempts - o.attempts
		if left <= 0 {
			s.dropOfferLocked(key, o)
		}
		s.mu.Unlock()
		if left <= 0 {
			oauthError(w, httpserv.Errorf(http.StatusBadRequest, "wrong tx_code; too many attempts: the offer is withdrawn, ask the operator for a new one"), openid4vci.ErrorInvalidGrant)
			return
		}
		oauthError(w, httpserv.Errorf(http.StatusBadRequest, "wrong tx_code (%d attempts left)", left), openid4vci.ErrorInvalidGrant)
		return
	}
	s.dropOfferLocked(key, o)
	s.mu.Unlock()
	access, err := s.putToken(o.subject)
	if err != nil {
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusOK, openid4vci.TokenResponse{AccessToken: access, TokenType: "Bearer",
		ExpiresIn: int64(s.opts.TokenTTL / time.Second)})
}

// dropOfferLocked forgets an offer and its document; the caller holds s.mu.
func (s *Service) dropOfferLocked(key [32]byte, o *offer) {
	delete(s.offers, key)
	delete(s.docs, o.doc)
}

// nonce answers POST /nonce with a fresh c_nonce (§7): single use, live
// NonceTTL.
func (s *Service) nonce(w http.ResponseWriter, r *http.Request) {
	n, key, err := secret()
	if err != nil {
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	now := s.opts.Now()
	s.mu.Lock()
	if len(s.nonces) >= s.opts.MaxNonces {
		for k, exp := range s.nonces {
			if !now.Before(exp) {
				delete(s.nonces, k)
			}
		}
	}
	full := len(s.nonces) >= s.opts.MaxNonces
	if !full {
		s.nonces[key] = now.Add(s.opts.NonceTTL)
	}
	s.mu.Unlock()
	if full {
		httpserv.WriteError(w, http.StatusServiceUnavailable, "too many live nonces; try again later")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusOK, openid4vci.NonceResponse{CNonce: n})
}

// takeNonce spends a c_nonce: true if it was live.
func (s *Service) takeNonce(n string) bool {
	key := sha256.Sum256([]byte(n))
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.nonces[key]
	delete(s.nonces, key)
	return ok && now.Before(exp)
}

// credentialError is a refusal of the credential endpoint.
type credentialError struct {
	status int
	code   string
	msg    string
}

func credErr(status int, code, format string, a ...any) *credentialError {
	return &credentialError{status: status, code: code, msg: fmt.Sprintf(format, a...)}
}

// credential is the credential endpoint (§8). A request for ConfigSDJWT
// carries one proof JWT per SD-JWT copy key, all under one live c_nonce,
// and the holder commitment (openid4vci.HolderCommitmentMember); it issues
// and answers the SD-JWT copies. A request for ConfigZK, with the same
// access token, answers the zero-knowledge credential of that issuance and
// spends the token.
func (s *Service) credential(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, httpserv.Errorf(http.StatusUnauthorized, "an access token from /token is required as a Bearer token"), openid4vci.ErrorInvalidToken)
		return
	}
	body, err := httpserv.ReadBody(r)
	if err != nil {
		oauthError(w, err, openid4vci.ErrorInvalidCredentialRequest)
		return
	}
	resp, cerr := s.issueCredential(r, string(tok), body)
	if cerr != nil {
		if cerr.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		if cerr.status == http.StatusInternalServerError {
			httpserv.Fail(w, s.srv.Logger(), errors.New(cerr.msg))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpserv.WriteJSON(w, cerr.status, openid4vci.ErrorResponse{Error: cerr.code, ErrorDescription: cerr.msg})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusOK, resp)
}

func (s *Service) issueCredential(r *http.Request, tok string, body []byte) (*openid4vci.CredentialResponse, *credentialError) {
	var req openid4vci.CredentialRequest
	if err := httpserv.Unmarshal(body, &req); err != nil {
		return nil, credErr(400, openid4vci.ErrorInvalidCredentialRequest, "%v", err)
	}
	key := sha256.Sum256([]byte(tok))
	g := s.liveToken(key)
	if g == nil {
		return nil, credErr(401, openid4vci.ErrorInvalidToken, "access token is unknown, expired or already used")
	}
	switch {
	case req.CredentialIdentifier != "":
		return nil, credErr(400, openid4vci.ErrorInvalidCredentialRequest, "credential_identifier is not used by this issuer: name a credential_configuration_id")
	case req.CredentialConfigurationID == openid4vci.ConfigSDJWT:
		return s.issueSDJWT(r, key, g, &req)
	case req.CredentialConfigurationID == openid4vci.ConfigZK:
		return s.issueZK(key, g, &req)
	case req.CredentialConfigurationID == "":
		return nil, credErr(400, openid4vci.ErrorInvalidCredentialRequest, "credential_configuration_id is missing")
	default:
		return nil, credErr(400, openid4vci.ErrorUnknownCredentialConfiguration, "unknown credential_configuration_id %q (offered: %s, %s)",
			req.CredentialConfigurationID, openid4vci.ConfigSDJWT, openid4vci.ConfigZK)
	}
}

func (s *Service) issueSDJWT(r *http.Request, key [32]byte, g *grant, req *openid4vci.CredentialRequest) (*openid4vci.CredentialResponse, *credentialError) {
	s.mu.Lock()
	used := g.issued || g.busy
	s.mu.Unlock()
	if used {
		return nil, credErr(401, openid4vci.ErrorInvalidToken, "this access token has already issued its SD-JWT copies")
	}
	if req.Proofs == nil || len(req.Proofs.JWT) == 0 {
		return nil, credErr(400, openid4vci.ErrorInvalidProof, "proofs.jwt is missing: one proof of possession per SD-JWT copy key")
	}
	if n := len(req.Proofs.JWT); n > s.opts.BatchSize {
		return nil, credErr(400, openid4vci.ErrorInvalidProof, "%d proofs, batch_size is %d", n, s.opts.BatchSize)
	}
	if req.HolderCommitment == "" {
		return nil, credErr(400, openid4vci.ErrorInvalidCredentialRequest, "%s is missing: the holder commitment the zero-knowledge form binds to", openid4vci.HolderCommitmentMember)
	}
	check := openid4vci.ProofCheck{Audience: s.meta.Issuer, Algs: []string{s.meta.JWK.Alg()}, Now: s.opts.Now()}
	hr := wire.HolderRequest{Version: wire.Version, HolderCommitment: req.HolderCommitment}
	var keys []*jose.PublicKey
	nonce := ""
	for i, p := range req.Proofs.JWT {
		k, n, err := openid4vci.VerifyProof(p, check)
		if err != nil {
			return nil, credErr(400, openid4vci.ErrorInvalidProof, "proofs.jwt[%d]: %v", i, err)
		}
		if i > 0 && n != nonce {
			return nil, credErr(400, openid4vci.ErrorInvalidProof, "proofs.jwt[%d] carries another c_nonce than proofs.jwt[0]: one request, one nonce", i)
		}
		for j, prev := range keys {
			if prev.Equal(k) {
				return nil, credErr(400, openid4vci.ErrorInvalidProof, "proofs.jwt[%d] proves the key of proofs.jwt[%d]: each copy needs its own key", i, j)
			}
		}
		nonce = n
		keys = append(keys, k)
		jwk, _ := k.MarshalJSON()
		hr.SDJWTKeys = append(hr.SDJWTKeys, jwk)
	}
	if !s.takeNonce(nonce) {
		return nil, credErr(400, openid4vci.ErrorInvalidNonce, "the proofs' c_nonce is unknown, expired or already used: get a fresh one from the nonce endpoint")
	}
	// One issuance per token, even for requests that race.
	s.mu.Lock()
	if g.busy || g.issued {
		s.mu.Unlock()
		return nil, credErr(401, openid4vci.ErrorInvalidToken, "this access token has already issued its SD-JWT copies")
	}
	g.busy = true
	s.mu.Unlock()
	release := func(issued bool) {
		s.mu.Lock()
		g.busy, g.issued = false, issued
		s.mu.Unlock()
	}
	hrJSON, err := json.Marshal(&hr)
	if err != nil {
		release(false)
		return nil, credErr(500, "", "%v", err)
	}
	bundleJSON, err := s.iss.Issue(r.Context(), g.subject, hrJSON)
	if err != nil {
		release(false)
		if errors.Is(err, ErrInvalidInput) {
			return nil, credErr(400, openid4vci.ErrorInvalidCredentialRequest, "%v", err)
		}
		return nil, credErr(500, "", "%v", err)
	}
	var b wire.Bundle
	if err := json.Unmarshal(bundleJSON, &b); err != nil {
		release(false)
		return nil, credErr(500, "", "the issuer's bundle: %v", err)
	}
	copies, zk := openid4vci.SplitBundle(&b)
	zkJSON, err := json.Marshal(zk)
	if err != nil {
		release(false)
		return nil, credErr(500, "", "%v", err)
	}
	s.mu.Lock()
	g.zk, g.commitment = zkJSON, req.HolderCommitment
	s.mu.Unlock()
	release(true)
	resp := &openid4vci.CredentialResponse{}
	for _, c := range copies {
		q, _ := json.Marshal(c)
		resp.Credentials = append(resp.Credentials, openid4vci.IssuedCredential{Credential: q})
	}
	return resp, nil
}

func (s *Service) issueZK(key [32]byte, g *grant, req *openid4vci.CredentialRequest) (*openid4vci.CredentialResponse, *credentialError) {
	if req.Proofs != nil {
		return nil, credErr(400, openid4vci.ErrorInvalidProof, "%s takes no proofs: it is bound to the holder commitment of the %s request", openid4vci.ConfigZK, openid4vci.ConfigSDJWT)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !g.issued {
		return nil, credErr(400, openid4vci.ErrorInvalidCredentialRequest, "request %s first: one issuance binds both forms, and that request carries the keys and the holder commitment", openid4vci.ConfigSDJWT)
	}
	if req.HolderCommitment != "" && req.HolderCommitment != g.commitment {
		return nil, credErr(400, openid4vci.ErrorInvalidCredentialRequest, "%s is not the holder commitment of this issuance", openid4vci.HolderCommitmentMember)
	}
	delete(s.tokens, key) // the token is spent
	return &openid4vci.CredentialResponse{Credentials: []openid4vci.IssuedCredential{{Credential: g.zk}}}, nil
}

// liveToken returns the grant of a live access token, or nil.
func (s *Service) liveToken(key [32]byte) *grant {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.tokens[key]
	if ok && !now.Before(g.expires) {
		delete(s.tokens, key)
		return nil
	}
	return g
}

// oauthError answers in the OAuth 2.0 error shape: a registered error code
// and a description that names the problem.
func oauthError(w http.ResponseWriter, err error, code string) {
	status, msg := http.StatusBadRequest, err.Error()
	var he *httpserv.Error
	if errors.As(err, &he) {
		status = he.Status
	}
	if status == http.StatusRequestEntityTooLarge {
		code = openid4vci.ErrorInvalidRequest
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, status, openid4vci.ErrorResponse{Error: code, ErrorDescription: msg})
}

func bearer(r *http.Request) ([]byte, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, false
	}
	return []byte(strings.TrimSpace(tok)), true
}

// secret returns a fresh random 256-bit secret, base64url, and its digest.
func secret() (string, [32]byte, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", [32]byte{}, err
	}
	s := base64.RawURLEncoding.EncodeToString(raw[:])
	return s, sha256.Sum256([]byte(s)), nil
}

// txCode returns TxCodeLength random decimal digits.
func txCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%0*d", TxCodeLength, n.Int64()), nil
}

// putToken stores a grant under a fresh access token.
func (s *Service) putToken(subject []byte) (string, error) {
	tok, key, err := secret()
	if err != nil {
		return "", err
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.roomLocked(); err != nil {
		return "", err
	}
	s.tokens[key] = &grant{subject: subject, expires: now.Add(s.opts.TokenTTL)}
	return tok, nil
}

// roomLocked makes room for one more offer or token, or refuses; the caller
// holds s.mu. Sweeping only when full keeps it O(1) until then; memory stays
// bounded by MaxOffers either way.
func (s *Service) roomLocked() error {
	if len(s.offers)+len(s.tokens) < s.opts.MaxOffers {
		return nil
	}
	now := s.opts.Now()
	for k, o := range s.offers {
		if !now.Before(o.expires) {
			s.dropOfferLocked(k, o)
		}
	}
	for k, g := range s.tokens {
		if !now.Before(g.expires) && !g.busy {
			delete(s.tokens, k)
		}
	}
	if len(s.offers)+len(s.tokens) >= s.opts.MaxOffers {
		return httpserv.Errorf(http.StatusServiceUnavailable, "too many pending offers; try again later")
	}
	return nil
}
