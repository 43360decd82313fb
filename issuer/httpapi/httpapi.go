// Package httpapi is the issuer's HTTP service: OpenID4VCI-shaped issuance
// (credential offers with a pre-authorized code, a token endpoint and a
// credential endpoint) and the public, cacheable files every holder and
// verifier reads (issuer.json, root statements, deltas, buckets, the status
// list, the circuit keys).
//
// The service holds no issuance logic of its own: it calls an [Issuer], the
// issuer library opened on an issuer directory, and serves that directory's
// public/ files under the names of publication, so that
// publication.HTTPSource works against it exactly as publication.DirSource
// works against the directory.
//
// Offers are the enrolment step: the issuer's operator posts a subject (the
// legal-ID record) to POST /offers with the admin token, the subject is
// validated, and the answer is a credential offer whose pre-authorized code
// is bound to that subject. The holder exchanges the code at POST /token for
// an access token and presents it with its HolderRequest at POST
// /credential. Codes and tokens are random 256-bit values, single use, short
// lived and kept only in memory, as SHA-256 digests; the subject waits in
// memory until issuance and is never logged.
package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// Issuer is what the service needs from the issuer library.
type Issuer interface {
	// CheckSubject validates an enrolment record (the subject JSON of
	// `yinzheng issuer issue`) without issuing anything.
	CheckSubject(subject []byte) error
	// Issue enrols subject for the holder that sent holderRequest (the
	// HolderRequest JSON) and returns the bundle JSON.
	Issue(ctx context.Context, subject, holderRequest []byte) ([]byte, error)
	// Bucket returns the binary bucket (revocation.Bucket.MarshalBinary)
	// number index of k levels (4^k leaves; revocation.BucketIndex). A
	// request names the bucket, never a serial.
	Bucket(index uint64, k int) ([]byte, error)
}

// Errors that an [Issuer] wraps when the caller, not the issuer, is at
// fault; the service answers them with 400 and the error's message.
// Any other error is an internal one: logged, answered with 500.
var ErrInvalidInput = errors.New("invalid input")

// Grant type and the credential configurations this issuer offers.
const (
	PreAuthorizedGrant = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
	// ConfigSDJWT is the SD-JWT VC form of the wangzheng credential.
	ConfigSDJWT = "wangzheng_dc+sd-jwt"
	// ConfigZK is the zero-knowledge form of the same credential.
	ConfigZK = "wangzheng_yinzheng-zk"
	// FormatSDJWT is the OpenID4VCI format identifier of an SD-JWT VC.
	FormatSDJWT = "dc+sd-jwt"
	// FormatZK is the format identifier of the ZK credential.
	FormatZK = "yinzheng-zk"
)

// Defaults for [Options] fields left zero.
const (
	DefaultOfferTTL  = 10 * time.Minute
	DefaultTokenTTL  = 5 * time.Minute
	DefaultMaxOffers = 10000
)

// Options configures the service.
type Options struct {
	// Dir is the issuer directory; its public/ files are served.
	Dir string
	// PublicURL is the base URL the service is reached at, for the endpoint
	// URLs in the metadata. Empty: the issuer identifier from issuer.json.
	PublicURL string
	// AdminToken guards POST /offers (compared in constant time). Empty
	// disables the endpoint.
	AdminToken []byte
	OfferTTL   time.Duration
	TokenTTL   time.Duration
	// MaxOffers bounds the offers and tokens waiting in memory.
	MaxOffers int
	// Now returns the current time (tests); nil is time.Now.
	Now func() time.Time
}

// Service is the issuer's HTTP service.
type Service struct {
	iss  Issuer
	opts Options
	meta *publication.Metadata
	srv  *httpserv.Server

	mu     sync.Mutex
	offers map[[32]byte]*grant // by SHA-256 of the pre-authorized code
	tokens map[[32]byte]*grant // by SHA-256 of the access token
}

// grant is a subject waiting for issuance.
type grant struct {
	subject []byte
	expires time.Time
}

// New registers the service's routes on srv. It reads DIR/public/issuer.json
// once: the issuer's identity and key do not change while it runs.
func New(srv *httpserv.Server, iss Issuer, opts Options) (*Service, error) {
	if iss == nil {
		return nil, errors.New("issuer service: no issuer")
	}
	data, err := publication.DirSource(opts.Dir).Get(context.Background(), publication.IssuerName, publication.MaxMetadataSize)
	if err != nil {
		return nil, fmt.Errorf("issuer service: %w (is %s an initialised issuer directory?)", err, opts.Dir)
	}
	meta, err := publication.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("issuer service: %w", err)
	}
	if opts.PublicURL == "" {
		opts.PublicURL = meta.Issuer
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if err := publication.CheckURL(opts.PublicURL); err != nil {
		return nil, fmt.Errorf("issuer service: public URL: %w", err)
	}
	if opts.OfferTTL <= 0 {
		opts.OfferTTL = DefaultOfferTTL
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.MaxOffers <= 0 {
		opts.MaxOffers = DefaultMaxOffers
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{iss: iss, opts: opts, meta: meta, srv: srv,
		offers: make(map[[32]byte]*grant), tokens: make(map[[32]byte]*grant)}

	srv.HandleFunc("GET /.well-known/openid-credential-issuer", s.credentialIssuerMetadata)
	srv.HandleFunc("GET /.well-known/jwt-vc-issuer", s.jwtVCIssuerMetadata)
	srv.HandleAuthenticated("POST /offers", http.HandlerFunc(s.offer)) // checks the admin token first
	srv.HandleFunc("POST /token", s.token)
	srv.HandleFunc("POST /credential", s.credential)

	srv.HandleFunc("GET /issuer.json", s.file(publication.IssuerName, cacheMetadata))
	srv.HandleFunc("GET /statuslist.jwt", s.file(publication.StatusListName, cacheStatus))
	srv.HandleFunc("GET /roots/{name}", s.root)
	srv.HandleFunc("GET /deltas/{name}", s.delta)
	srv.HandleFunc("GET /deltas/span/{level}/{name}", s.span)
	srv.HandleFunc("GET /buckets/{k}/{index}", s.bucket)
	srv.HandleFunc("GET /circuit/{name}", s.circuit)
	return s, nil
}

// Cache-Control values. Epoch files never change once published; the latest
// root and the status list change with every publication, so caches keep
// them briefly; the circuit keys change only with a new circuit id.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheLatest    = "public, max-age=30"
	cacheStatus    = "public, max-age=60"
	cacheBucket    = "public, max-age=30"
	cacheMetadata  = "public, max-age=300"
	cacheCircuit   = "public, max-age=86400"
)

// file serves DIR/public/<name>. The issuer rewrites public files by
// renaming, so an open file stays one consistent version.
func (s *Service) file(name, cache string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.serveFile(w, r, name, cache) }
}

func (s *Service) serveFile(w http.ResponseWriter, r *http.Request, name, cache string) {
	if err := publication.CheckName(name); err != nil {
		httpserv.WriteError(w, http.StatusNotFound, "no such file")
		return
	}
	f, err := os.Open(filepath.Join(s.opts.Dir, "public", filepath.FromSlash(name)))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			httpserv.WriteError(w, http.StatusNotFound, fmt.Sprintf("%s is not published", name))
			return
		}
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		httpserv.WriteError(w, http.StatusNotFound, fmt.Sprintf("%s is not published", name))
		return
	}
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("Content-Type", contentType(name))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	case strings.HasSuffix(name, ".jws"):
		return "application/jose"
	case name == publication.StatusListName:
		return "application/statuslist+jwt"
	default:
		return "application/octet-stream"
	}
}

// epochFile parses "<epoch><ext>" with a canonical decimal epoch.
func epochFile(name, ext string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, ext)
	if !ok {
		return 0, false
	}
	return parseCanonical(digits)
}

// parseCanonical accepts only the decimal form a publisher writes (no sign,
// no leading zeros), so one file has one URL and caches are not split.
func parseCanonical(s string) (uint64, bool) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

func (s *Service) root(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "latest.jws" {
		s.serveFile(w, r, publication.LatestRootName, cacheLatest)
		return
	}
	epoch, ok := epochFile(name, ".jws")
	if !ok {
		httpserv.WriteError(w, http.StatusNotFound, "root statements are /roots/latest.jws or /roots/<epoch>.jws")
		return
	}
	s.serveFile(w, r, publication.RootName(epoch), cacheImmutable)
}

func (s *Service) delta(w http.ResponseWriter, r *http.Request) {
	epoch, ok := epochFile(r.PathValue("name"), ".json")
	if !ok {
		httpserv.WriteError(w, http.StatusNotFound, "deltas are /deltas/<epoch>.json")
		return
	}
	s.serveFile(w, r, publication.DeltaName(epoch), cacheImmutable)
}

func (s *Service) span(w http.ResponseWriter, r *http.Request) {
	level, ok := parseCanonical(r.PathValue("level"))
	index, ok2 := epochFile(r.PathValue("name"), ".json")
	if !ok || !ok2 || !slices.Contains(revocation.SpanLevels, int(level)) {
		httpserv.WriteError(w, http.StatusNotFound, "span deltas are /deltas/span/<level>/<index>.json")
		return
	}
	s.serveFile(w, r, publication.SpanName(int(level), index), cacheImmutable)
}

func (s *Service) circuit(w http.ResponseWriter, r *http.Request) {
	name := "circuit/" + r.PathValue("name")
	switch name {
	case publication.ManifestName, publication.VerifyingKeyName, publication.ProvingKeyName, publication.TranscriptName:
		s.serveFile(w, r, name, cacheCircuit)
	default:
		httpserv.WriteError(w, http.StatusNotFound, "circuit files are manifest.json, verifying.key, proving.key and (for ceremony keys) transcript.bin")
	}
}

func (s *Service) bucket(w http.ResponseWriter, r *http.Request) {
	index, ok := parseCanonical(r.PathValue("index"))
	if !ok {
		httpserv.WriteError(w, http.StatusBadRequest, "bucket index must be a decimal number")
		return
	}
	k64, ok := parseCanonical(r.PathValue("k"))
	if !ok || k64 > revocation.MaxBucketLevels {
		httpserv.WriteError(w, http.StatusBadRequest, fmt.Sprintf("bucket levels k must be a number from 0 to %d", revocation.MaxBucketLevels))
		return
	}
	data, err := s.iss.Bucket(index, int(k64))
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Cache-Control", cacheBucket)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(data)
}

// fail answers an error from the issuer library.
func (s *Service) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrInvalidInput) {
		httpserv.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	httpserv.Fail(w, s.srv.Logger(), err)
}

// CredentialIssuerMetadata is the OpenID4VCI credential issuer metadata.
type CredentialIssuerMetadata struct {
	CredentialIssuer                  string                             `json:"credential_issuer"`
	CredentialEndpoint                string                             `json:"credential_endpoint"`
	TokenEndpoint                     string                             `json:"token_endpoint"`
	CredentialConfigurationsSupported map[string]CredentialConfiguration `json:"credential_configurations_supported"`
}

// CredentialConfiguration describes one credential form.
type CredentialConfiguration struct {
	Format             string   `json:"format"`
	VCT                string   `json:"vct,omitempty"`
	BindingMethods     []string `json:"cryptographic_binding_methods_supported,omitempty"`
	SigningAlgs        []string `json:"credential_signing_alg_values_supported,omitempty"`
	ProofSystem        string   `json:"proof_system,omitempty"`
	CircuitID          string   `json:"circuit_id,omitempty"`
	SchemaID           string   `json:"schema_id,omitempty"`
	AccumulatorDepth   int      `json:"accumulator_depth,omitempty"`
	VerifyingKeyURI    string   `json:"verifying_key_uri,omitempty"`
	AccumulatorRootURI string   `json:"accumulator_root_uri,omitempty"`
}

func (s *Service) credentialIssuerMetadata(w http.ResponseWriter, r *http.Request) {
	base := s.opts.PublicURL
	alg := s.meta.JWK.Alg()
	m := CredentialIssuerMetadata{
		CredentialIssuer:   s.meta.Issuer,
		CredentialEndpoint: base + "/credential",
		TokenEndpoint:      base + "/token",
		CredentialConfigurationsSupported: map[string]CredentialConfiguration{
			ConfigSDJWT: {Format: FormatSDJWT, VCT: s.meta.VCT,
				BindingMethods: []string{"jwk"}, SigningAlgs: []string{alg}},
			ConfigZK: {Format: FormatZK, ProofSystem: "groth16-bn254",
				CircuitID: s.meta.CircuitID, SchemaID: s.meta.SchemaID, AccumulatorDepth: s.meta.Depth,
				VerifyingKeyURI:    base + "/" + publication.VerifyingKeyName,
				AccumulatorRootURI: base + "/" + publication.LatestRootName},
		},
	}
	w.Header().Set("Cache-Control", cacheMetadata)
	httpserv.WriteJSON(w, http.StatusOK, m)
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

// CredentialOffer is the OpenID4VCI credential offer returned by POST /offers.
type CredentialOffer struct {
	CredentialIssuer           string            `json:"credential_issuer"`
	CredentialConfigurationIDs []string          `json:"credential_configuration_ids"`
	Grants                     map[string]any    `json:"grants"`
	ExpiresIn                  int64             `json:"expires_in"`
	Endpoints                  map[string]string `json:"endpoints"`
}

// offer enrols a subject: POST /offers with "Authorization: Bearer <admin
// token>" and the subject JSON as body.
func (s *Service) offer(w http.ResponseWriter, r *http.Request) {
	if len(s.opts.AdminToken) == 0 {
		httpserv.WriteError(w, http.StatusNotFound, "offers are disabled: the service was started without an admin token")
		return
	}
	tok, ok := bearer(r)
	if !ok || subtle.ConstantTimeCompare(tok, s.opts.AdminToken) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="offers"`)
		httpserv.WriteError(w, http.StatusUnauthorized, "offers need the admin token as a Bearer token")
		return
	}
	subject, err := httpserv.ReadBody(r)
	if err != nil {
		httpserv.Fail(w, nil, err)
		return
	}
	if err := s.iss.CheckSubject(subject); err != nil {
		if errors.Is(err, ErrInvalidInput) {
			httpserv.WriteError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	code, err := s.put(s.offers, subject, s.opts.OfferTTL)
	if err != nil {
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	httpserv.WriteJSON(w, http.StatusCreated, CredentialOffer{
		CredentialIssuer:           s.meta.Issuer,
		CredentialConfigurationIDs: []string{ConfigSDJWT, ConfigZK},
		Grants: map[string]any{PreAuthorizedGrant: map[string]string{
			"pre-authorized_code": code}},
		ExpiresIn: int64(s.opts.OfferTTL / time.Second),
		Endpoints: map[string]string{"token": s.opts.PublicURL + "/token",
			"credential": s.opts.PublicURL + "/credential"},
	})
}

// TokenResponse is the OAuth 2.0 token response.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// token exchanges a pre-authorized code (single use) for an access token.
func (s *Service) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, httpserv.BodyError(err), "invalid_request")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != PreAuthorizedGrant {
		oauthError(w, httpserv.Errorf(http.StatusBadRequest, "grant_type must be %s", PreAuthorizedGrant), "unsupported_grant_type")
		return
	}
	code := r.PostForm.Get("pre-authorized_code")
	if code == "" {
		oauthError(w, httpserv.Errorf(http.StatusBadRequest, "pre-authorized_code is missing"), "invalid_request")
		return
	}
	g := s.take(s.offers, code)
	if g == nil {
		oauthError(w, httpserv.Errorf(http.StatusBadRequest, "pre-authorized code is unknown, expired or already used"), "invalid_grant")
		return
	}
	access, err := s.put(s.tokens, g.subject, s.opts.TokenTTL)
	if err != nil {
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserv.WriteJSON(w, http.StatusOK, TokenResponse{AccessToken: access, TokenType: "Bearer",
		ExpiresIn: int64(s.opts.TokenTTL / time.Second)})
}

// credential issues the bundle for the subject behind the access token. The
// bundle is pending (see issuer.Issue): the holder completes it with
// `holder refresh` after the next epoch, which `serve issuer` publishes on
// its --epoch-interval.
// The body is the HolderRequest JSON, optionally with the OpenID4VCI member
// "format" ("dc+sd-jwt" or "yinzheng-zk": the bundle holds both forms) or
// "credential_configuration_id".
func (s *Service) credential(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, httpserv.Errorf(http.StatusUnauthorized, "an access token from /token is required as a Bearer token"), "invalid_token")
		return
	}
	body, err := httpserv.ReadBody(r)
	if err != nil {
		oauthError(w, err, "invalid_credential_request")
		return
	}
	holderRequest, err := stripOID4VCI(body)
	if err != nil {
		oauthError(w, err, "invalid_credential_request")
		return
	}
	g := s.take(s.tokens, string(tok))
	if g == nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, httpserv.Errorf(http.StatusUnauthorized, "access token is unknown, expired or already used"), "invalid_token")
		return
	}
	bundle, err := s.iss.Issue(r.Context(), g.subject, holderRequest)
	if err != nil {
		if errors.Is(err, ErrInvalidInput) {
			// The holder's request was at fault: let it retry with the
			// same token while the token lives.
			s.restore(s.tokens, string(tok), g)
			oauthError(w, httpserv.Errorf(http.StatusBadRequest, "%v", err), "invalid_credential_request")
			return
		}
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(bundle)
}

// stripOID4VCI removes the OpenID4VCI members from a credential request and
// returns the HolderRequest JSON that remains.
func stripOID4VCI(body []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := httpserv.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	if raw, ok := m["format"]; ok {
		var f string
		if json.Unmarshal(raw, &f) != nil || (f != FormatSDJWT && f != FormatZK) {
			return nil, httpserv.Errorf(http.StatusBadRequest, "format must be %q or %q", FormatSDJWT, FormatZK)
		}
		delete(m, "format")
	}
	if raw, ok := m["credential_configuration_id"]; ok {
		var c string
		if json.Unmarshal(raw, &c) != nil || (c != ConfigSDJWT && c != ConfigZK) {
			return nil, httpserv.Errorf(http.StatusBadRequest, "credential_configuration_id must be %q or %q", ConfigSDJWT, ConfigZK)
		}
		delete(m, "credential_configuration_id")
	}
	return json.Marshal(m)
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
		code = "invalid_request"
	}
	httpserv.WriteJSON(w, status, map[string]string{"error": code, "error_description": msg})
}

func bearer(r *http.Request) ([]byte, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, false
	}
	return []byte(strings.TrimSpace(tok)), true
}

// put stores g under a fresh random secret and returns the secret.
func (s *Service) put(m map[[32]byte]*grant, subject []byte, ttl time.Duration) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	// Sweeping only when full keeps put O(1) until then; memory stays
	// bounded by MaxOffers either way.
	if len(s.offers)+len(s.tokens) >= s.opts.MaxOffers {
		s.sweep(now)
	}
	if len(s.offers)+len(s.tokens) >= s.opts.MaxOffers {
		return "", httpserv.Errorf(http.StatusServiceUnavailable, "too many pending offers; try again later")
	}
	m[sha256.Sum256([]byte(secret))] = &grant{subject: subject, expires: now.Add(ttl)}
	return secret, nil
}

// take removes and returns the live grant behind secret, or nil. Lookup is
// by digest, so no comparison ever touches the secret itself.
func (s *Service) take(m map[[32]byte]*grant, secret string) *grant {
	key := sha256.Sum256([]byte(secret))
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := m[key]
	delete(m, key)
	if !ok || !now.Before(g.expires) {
		return nil
	}
	return g
}

func (s *Service) restore(m map[[32]byte]*grant, secret string, g *grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m[sha256.Sum256([]byte(secret))] = g
}

// sweep drops expired grants; the caller holds s.mu.
func (s *Service) sweep(now time.Time) {
	for _, m := range []map[[32]byte]*grant{s.offers, s.tokens} {
		for k, g := range m {
			if !now.Before(g.expires) {
				delete(m, k)
			}
		}
	}
}
