// Package oid4vpcheck is a strict, independent OpenID for Verifiable
// Presentations 1.0 (final) wallet-side checker: it opens an invocation
// URL, fetches the signed request object over HTTPS, validates it (JAR,
// RFC 9101; JWS, RFC 7515; the x509_san_dns Client Identifier Prefix; the
// request parameters; DCQL), checks a vp_token against the request and
// posts the authorization response with response mode direct_post.
//
// It is written from the specifications, not from this module's
// implementation, and imports none of this module's packages: it is the
// other side of an interop test. Each rule has its own sentinel error
// (errors.Is). Unrecognized parameters are ignored, as the specification
// requires of wallets (§5, §6, §8.2, §11.1), with one exception it also
// makes: transaction_data, which this wallet does not support, is refused.
package oid4vpcheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// Values the checker enforces.
const (
	// RequestObjectType is the typ of a request object (§5, RFC 9101).
	RequestObjectType = "oauth-authz-req+jwt"
	// SelfIssuedAudience is the aud of a request object under static
	// discovery (§5.8), which the openid4vp:// scheme is (§13.1.2).
	SelfIssuedAudience = "https://self-issued.me/v2"
	// PrefixX509SANDNS is the only Client Identifier Prefix this wallet
	// supports (§5.9.3).
	PrefixX509SANDNS = "x509_san_dns:"
	// DefaultScheme is the invocation scheme when Wallet.Scheme is empty.
	DefaultScheme = "openid4vp"
	// MinNonceLength is the shortest nonce accepted: 22 URL-safe
	// characters, the base64url form of the 16 random bytes the reference
	// design asks for (§13.3 step 1; §5.2 asks for "sufficient entropy").
	MinNonceLength = 22
	// MaxDocumentSize bounds a fetched request object and an answer.
	MaxDocumentSize = 1 << 20
	// ClockSkew is how far iat and nbf may lie in the future.
	ClockSkew = time.Minute
	// DefaultSM2SignerID is the SM2 signer ID (GM/T 0009 default).
	DefaultSM2SignerID = "1234567812345678"
)

// Wallet is the strict checker's configuration. The zero value refuses
// every request (no roots).
type Wallet struct {
	// Roots are the trust anchors the request object's x5c chain must
	// validate to (the registrar roots).
	Roots *smx509.CertPool
	// TLSRoots verify the HTTPS server certificates of request_uri and
	// response_uri; nil uses the system roots. Verification is never
	// skipped.
	TLSRoots *x509.CertPool
	// DialContext replaces the dialer (tests map a domain to loopback);
	// nil dials normally.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Scheme is the invocation URL scheme; "" is DefaultScheme.
	Scheme string
	// SM2Alg is the JWS alg name accepted for SM2 keys (SM3 digest, r‖s
	// signature); "" accepts no SM2 signature.
	SM2Alg string
	// SM2SignerID is the SM2 signer ID; "" is DefaultSM2SignerID.
	SM2SignerID string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

func (w *Wallet) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Wallet) sm2SignerID() []byte {
	if w.SM2SignerID != "" {
		return []byte(w.SM2SignerID)
	}
	return []byte(DefaultSM2SignerID)
}

// client is the wallet's HTTPS client: TLS 1.2 at least (BCP 195), the
// server certificate verified against TLSRoots, no plain-http redirect.
func (w *Wallet) client() *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: w.TLSRoots, MinVersion: tls.VersionTLS12},
		DialContext:         w.DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if r.URL.Scheme != "https" {
				return fmt.Errorf("%w: redirect to %s", ErrInsecureURL, r.URL.Redacted())
			}
			return nil
		}}
}

// Invocation is a parsed invocation URL (a request by reference).
type Invocation struct {
	ClientID   string
	RequestURI string
	// RequestURIMethod is "get", "post" or "" (absent).
	RequestURIMethod string
}

// ParseInvocation reads an invocation URL of the wallet's scheme:
// client_id and request_uri present once each, no request beside
// request_uri (RFC 9101 §5), request_uri an https URL, request_uri_method
// get or post if present (§5.1). Other parameters are ignored: only the
// request object's are used (§5.10.1).
func (w *Wallet) ParseInvocation(raw string) (*Invocation, error) {
	scheme := w.Scheme
	if scheme == "" {
		scheme = DefaultScheme
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != scheme {
		return nil, fmt.Errorf("%w: want the %s scheme", ErrInvocation, scheme)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: query: %v", ErrInvocation, err)
	}
	for k, v := range q {
		if len(v) > 1 {
			return nil, fmt.Errorf("%w: %s given %d times", ErrInvocation, k, len(v))
		}
	}
	inv := &Invocation{ClientID: q.Get("client_id"), RequestURI: q.Get("request_uri"), RequestURIMethod: q.Get("request_uri_method")}
	switch {
	case inv.ClientID == "":
		return nil, ErrInvocationClientID
	case inv.RequestURI == "":
		return nil, fmt.Errorf("%w: request_uri missing", ErrInvocationRequestURI)
	case q.Has("request"):
		return nil, fmt.Errorf("%w: both request and request_uri", ErrInvocationRequestURI)
	}
	if q.Has("request_uri_method") && inv.RequestURIMethod != "get" && inv.RequestURIMethod != "post" {
		return nil, fmt.Errorf("%w: %q", ErrRequestURIMethod, inv.RequestURIMethod)
	}
	if _, err := httpsURL(inv.RequestURI); err != nil {
		return nil, fmt.Errorf("request_uri: %w", err)
	}
	return inv, nil
}

// httpsURL parses an absolute https URL with a host.
func httpsURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%w: %q", ErrInsecureURL, raw)
	}
	return u, nil
}

// Open runs the wallet's side of a request by reference: it parses the
// invocation URL, fetches request_uri with GET over HTTPS (a wallet not
// supporting request_uri_method post sends GET, §5.1), requires 200 and
// the JAR media type, and checks the request object (CheckRequestObject)
// against the invocation's client_id.
func (w *Wallet) Open(ctx context.Context, invocation string) (*Request, error) {
	inv, err := w.ParseInvocation(invocation)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, inv.RequestURI, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFetch, err)
	}
	hr.Header.Set("Accept", "application/"+RequestObjectType)
	resp, err := w.client().Do(hr)
	if err != nil {
		// %w twice: a refused redirect is also ErrInsecureURL.
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d", ErrHTTPStatus, resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/"+RequestObjectType {
		return nil, fmt.Errorf("%w: %q", ErrContentType, resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFetch, err)
	}
	if len(body) > MaxDocumentSize {
		return nil, ErrTooLarge
	}
	return w.CheckRequestObject(strings.TrimSpace(string(body)), inv.ClientID)
}
