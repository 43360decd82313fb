package holder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/wire"
)

// Refusals of a platform's request. Each error wraps one of them (and the
// wire or registry sentinel that says which check failed); the message
// names the platform and the reason.
var (
	// ErrUnsignedRequest means the request is not a request object signed
	// with the key of its x5c certificate (a plain JSON request, another
	// typ, a bad signature).
	ErrUnsignedRequest = errors.New("holder: the request is not signed by the platform's certificate")
	// ErrUntrustedPlatform means the platform's certificate chain or
	// registration does not verify with the pinned registrar roots, or the
	// registration has expired or been revoked, or its status is missing
	// or stale (registry's sentinel says which).
	ErrUntrustedPlatform = errors.New("holder: the platform is not registered with a trusted registrar")
	// ErrClientID means the client_id is not the one the platform's
	// certificate and registration name, or not the one the invocation
	// named.
	ErrClientID = errors.New("holder: the request's client_id is not the platform's certified identity")
	// ErrResponseURI means the answer would go outside the platform's
	// certified domain or to a URI its registration does not list.
	ErrResponseURI = errors.New("holder: the response URI is not one of the platform's")
	// ErrNotEntitled means the request asks for a predicate or a claim the
	// platform's registration does not entitle it to.
	ErrNotEntitled = errors.New("holder: the platform is not entitled to what it asks")
	// ErrNoRegistrar means the wallet pins no registrar root (holder trust).
	ErrNoRegistrar = errors.New("holder: the wallet trusts no registrar (run holder trust --registry ROOT_CERT)")
)

// RegistrarRootsFile is the file in the wallet directory holding the pinned
// registrar root certificates (PEM).
const RegistrarRootsFile = "registrars.pem"

// AuthorizedRequest is a platform's request the wallet has verified: the
// request object is signed by the key of an access certificate that chains
// to a pinned registrar root, the registration (stapled with its status)
// is valid and not revoked, the client_id is x509_san_dns: and the
// certified domain, the response URI is the platform's, and the request
// stays within the registration's entitlements. Its pseudonym scope and key
// binding audience are the authenticated client_id.
type AuthorizedRequest struct {
	// Platform is the registered domain.
	Platform string
	// ClientID is x509_san_dns:Platform.
	ClientID string
	// Registration is the platform's verified registration.
	Registration *registry.Registration
	// Object is the verified request object, Compact its JWS.
	Object  *wire.RequestObject
	Compact string

	req *Request
}

// Request returns (a copy of) the Yinzheng request the object carries.
func (a *AuthorizedRequest) Request() Request { return *a.req }

// ResponseURI is where the answer goes (direct_post).
func (a *AuthorizedRequest) ResponseURI() string { return a.Object.ResponseURI }

// State is the request's state, sent back with the answer.
func (a *AuthorizedRequest) State() string { return a.Object.State }

// Authorize verifies a request object (compact JWS) against the pinned
// registrar roots at now; see AuthorizedRequest for what it checks.
func Authorize(requestObject string, roots *registry.Roots, now time.Time) (*AuthorizedRequest, error) {
	if roots == nil {
		return nil, ErrNoRegistrar
	}
	sro, err := wire.VerifyRequestObject(requestObject, now)
	if err != nil {
		// Not authenticated: the platform is the one the request claims.
		who := "request claiming to be from " + claimedPlatform(requestObject)
		switch {
		case errors.Is(err, wire.ErrUnsigned), errors.Is(err, wire.ErrRequestSignature):
			return nil, fmt.Errorf("%w: %s: %w", ErrUnsignedRequest, who, err)
		case errors.Is(err, wire.ErrClientIDNotCertified):
			return nil, fmt.Errorf("%w: %s: %w", ErrClientID, who, err)
		case errors.Is(err, wire.ErrResponseURI):
			return nil, fmt.Errorf("%w: %s: %w", ErrResponseURI, who, err)
		default:
			return nil, fmt.Errorf("%w: %s: %w", ErrRequest, who, err)
		}
	}
	ro := sro.Object
	var regJWT, status string
	for _, vi := range ro.VerifierInfo {
		switch vi.Format {
		case wire.VerifierInfoRegistration:
			regJWT = vi.Data
		case wire.VerifierInfoStatus:
			status = vi.Data
		}
	}
	if regJWT == "" {
		return nil, fmt.Errorf("%w: %s staples no registration (verifier_info %s)", ErrUntrustedPlatform, sro.Domain, wire.VerifierInfoRegistration)
	}
	reg, err := registry.VerifyPlatform(sro.Chain, regJWT, status, roots, now)
	if err != nil {
		return nil, fmt.Errorf("%w: platform %s: %w", ErrUntrustedPlatform, sro.Domain, err)
	}
	if ro.ClientID != wire.ClientIDOf(reg.Domain) {
		return nil, fmt.Errorf("%w: client_id %s, the registration is of %s", ErrClientID, ro.ClientID, reg.Domain)
	}
	if !reg.Entitlements.AllowsResponseURI(reg.Domain, ro.ResponseURI) {
		return nil, fmt.Errorf("%w: platform %s asks for the answer at %s, which its registration does not list", ErrResponseURI, reg.Domain, ro.ResponseURI)
	}
	req, err := ro.YinzhengRequest()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRequest, err)
	}
	if err := entitled(req, reg); err != nil {
		return nil, err
	}
	return &AuthorizedRequest{Platform: reg.Domain, ClientID: ro.ClientID, Registration: reg, Object: ro, Compact: sro.Compact, req: req}, nil
}

// entitled checks that r asks only for what the registration allows.
func entitled(r *Request, reg *registry.Registration) error {
	refuse := func(what string) error {
		return fmt.Errorf("%w: platform %s asks for %s, which its registration does not allow", ErrNotEntitled, reg.Domain, what)
	}
	e := reg.Entitlements
	if r.SDJWT != nil {
		for _, c := range r.SDJWT.Claims {
			if !e.AllowsClaim(c) {
				return refuse("the claim " + c + " in clear")
			}
		}
		return nil
	}
	if r.Predicates.AgeOver != nil && !e.AllowsPredicate(registry.PredicateAgeOver) {
		return refuse("an age_over proof")
	}
	if r.Predicates.AgeUnder != nil && !e.AllowsPredicate(registry.PredicateAgeUnder) {
		return refuse("an age_under proof")
	}
	if r.MinLevel > 0 && !e.AllowsPredicate(registry.PredicateMinLevel) {
		return refuse("a min_level proof")
	}
	for _, f := range r.Flags {
		if f != schemas.ClaimGuardianConsent || !e.AllowsPredicate(registry.PredicateGuardianConsent) {
			return refuse("the flag " + f)
		}
	}
	return nil
}

// maxRequestObject bounds a fetched request object.
const maxRequestObject = wire.MaxDocumentSize

// FetchRequest reads a request given as the compact request object itself
// or as an openid4vp:// invocation URL, whose request_uri it fetches with
// client (https only, plain http on loopback; nil is
// http.DefaultClient), and authorizes it. With an invocation URL the
// object's client_id must be the one the URL names.
func FetchRequest(ctx context.Context, client *http.Client, request string, roots *registry.Roots, now time.Time) (*AuthorizedRequest, error) {
	request = strings.TrimSpace(request)
	if !strings.HasPrefix(request, wire.InvocationScheme+"://") {
		return Authorize(request, roots, now)
	}
	clientID, requestURI, err := wire.ParseInvocation(request)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRequest, err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, requestURI, nil)
	if err != nil {
		return nil, fmt.Errorf("holder: request_uri: %w", err)
	}
	hr.Header.Set("Accept", wire.RequestObjectMediaType)
	resp, err := client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("holder: fetching the request of %s: %w", clientID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("holder: fetching the request of %s: HTTP %d", clientID, resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != wire.RequestObjectMediaType {
		return nil, fmt.Errorf("%w: request_uri of %s serves %q, not %s", ErrUnsignedRequest, clientID, mt, wire.RequestObjectMediaType)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRequestObject+1))
	if err != nil {
		return nil, fmt.Errorf("holder: fetching the request of %s: %w", clientID, err)
	}
	if len(body) > maxRequestObject {
		return nil, fmt.Errorf("%w: request object over %d bytes", ErrRequest, maxRequestObject)
	}
	a, err := Authorize(string(body), roots, now)
	if err != nil {
		return nil, err
	}
	if a.ClientID != clientID {
		return nil, fmt.Errorf("%w: the invocation names %s, the request object is of %s", ErrClientID, clientID, a.ClientID)
	}
	return a, nil
}

// TrustRegistrar pins the registrar root certificates in pemCerts (they
// replace any pinned before) and returns them.
func (w *Wallet) TrustRegistrar(pemCerts []byte) (*registry.Roots, error) {
	roots, err := registry.LoadRoots(pemCerts)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(filepath.Join(w.dir, RegistrarRootsFile), roots.PEM()); err != nil {
		return nil, err
	}
	return roots, nil
}

// Registrars returns the pinned registrar roots (ErrNoRegistrar when none).
func (w *Wallet) Registrars() (*registry.Roots, error) {
	data, err := readLimited(filepath.Join(w.dir, RegistrarRootsFile), 1<<20)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoRegistrar
	}
	if err != nil {
		return nil, err
	}
	return registry.LoadRoots(data)
}

// Consent describes, in words for the holder, who asks (the registered
// platform, its legal basis for claims in clear) and what answering
// discloses. Show it before Prove or Present.
func Consent(a *AuthorizedRequest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Request from the registered platform %s (certified by %s).\n", a.Platform, a.Registration.Registrar)
	if a.req.SDJWT != nil && a.Registration.Entitlements.LegalBasis != "" {
		fmt.Fprintf(&b, "Its legal basis for receiving claims in clear: %s\n", a.Registration.Entitlements.LegalBasis)
	}
	b.WriteString(reveal(a.req, a.Platform))
	return b.String()
}

// claimedPlatform reads the client_id a request claims, unverified, for
// error messages only.
func claimedPlatform(request string) string {
	var claim struct {
		ClientID string `json:"client_id"`
	}
	payload := []byte(request)
	if j, err := jose.ParseCompact(strings.TrimSpace(request)); err == nil {
		payload = j.Payload
	}
	if json.Unmarshal(payload, &claim) != nil || claim.ClientID == "" || len(claim.ClientID) > 300 {
		return "an unnamed platform"
	}
	return strings.TrimPrefix(claim.ClientID, wire.ClientIDPrefixX509SANDNS)
}
