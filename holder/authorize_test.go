package holder

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/wire"
)

// platformFixture is a registrar with registered platforms and a way to
// make their request objects.
type platformFixture struct {
	reg   *registrytest.Registrar
	roots *registry.Roots
	now   time.Time
}

func newPlatformFixture(t *testing.T) *platformFixture {
	t.Helper()
	r := registrytest.New(t, jose.SuiteGM)
	return &platformFixture{reg: r, roots: r.Roots(), now: r.Now()}
}

// zkPolicyRequest is a Yinzheng ZK request as a verifier builds it.
func (f *platformFixture) zkRequest(clientID string, ageOver *int, minLevel int) *Request {
	nonce := make([]byte, 32)
	_, _ = rand.Read(nonce)
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	today := schemas.DateOf(f.now)
	r := &Request{
		Version: FormatVersion, ID: base64.RawURLEncoding.EncodeToString(id), Nonce: base64.RawURLEncoding.EncodeToString(nonce),
		Scope: clientID, Audience: clientID, Issuer: "https://issuer.example", CircuitID: "zCircuit",
		Epochs: []uint64{1}, Today: today.String(), MinLevel: minLevel, Flags: []string{},
		Predicates: Predicates{AgeOver: ageOver}, ExpiresAt: f.now.Add(5 * time.Minute).UTC().Format(time.RFC3339),
	}
	if ageOver != nil {
		_, before, _ := schemas.AgeWindow(today, ageOver, nil)
		d, _ := schemas.DateFromCode(before)
		s := d.String()
		r.BornBefore = &s
	}
	return r
}

func sdRequest(r *Request, claims ...string) *Request {
	return &Request{Version: r.Version, ID: r.ID, Nonce: r.Nonce, Scope: r.Scope, Audience: r.Audience,
		ExpiresAt: r.ExpiresAt, Flags: []string{}, SDJWT: &SDJWTRequest{Claims: claims}}
}

// object makes pl's request object for r, stapling pl's registration and
// status.
func (f *platformFixture) object(t *testing.T, pl *registry.Platform, r *Request, status string) *wire.RequestObject {
	t.Helper()
	ro, err := wire.NewRequestObject(r, "https://"+pl.Domain+"/openid4vp/response", f.now, []wire.VerifierInfo{
		{Format: wire.VerifierInfoRegistration, Data: pl.Registration},
		{Format: wire.VerifierInfoStatus, Data: status},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ro
}

func sign(t *testing.T, key *jose.PrivateKey, chain []*smx509.Certificate, ro *wire.RequestObject) string {
	t.Helper()
	jwt, err := wire.SignRequestObject(key, wire.DERChain(chain), ro)
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

// selfSigned is a certificate for domain that no registrar issued.
func selfSigned(t *testing.T, domain string) (*jose.PrivateKey, *smx509.Certificate) {
	t.Helper()
	key, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := key.MarshalPKCS8PEM()
	b, _ := pem.Decode(p)
	priv, err := smx509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	s := priv.(crypto.Signer)
	tmpl := &smx509.Certificate{SerialNumber: big.NewInt(7), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{domain}}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := smx509.ParseCertificate(der)
	return key, c
}

// TestAuthorizeRefusals: each attack of issue 11 is refused with its
// reason, and the platform's valid request is accepted after each.
func TestAuthorizeRefusals(t *testing.T) {
	f := newPlatformFixture(t)
	a := f.reg.Register(t, "platform-a.example", registry.Entitlements{Predicates: []string{registry.PredicateAgeOver}})
	b := f.reg.Register(t, "platform-b.example", registrytest.AgeOnly())
	d := f.reg.Register(t, "platform-d.example", registry.Entitlements{Predicates: registry.Predicates(),
		ResponseURIs: []string{"https://platform-d.example/openid4vp/response"}})
	status := f.reg.Status(t)
	over18 := 18
	aID := wire.ClientIDOf(a.Domain)
	valid := sign(t, a.Key, a.Chain, f.object(t, a, f.zkRequest(aID, &over18, 0), status))

	other := registrytest.New(t, jose.SuiteGM)
	otherA := other.Register(t, "platform-a.example", registrytest.AgeOnly())
	rogueKey, rogueCert := selfSigned(t, "platform-a.example")

	expiredReg := registrytest.New(t, jose.SuiteGM)
	e := expiredReg.Register(t, "platform-e.example", registrytest.AgeOnly())
	later := &platformFixture{now: f.now.Add(25 * time.Hour)}
	expiredReg.SetNow(later.now)
	eStatus := expiredReg.Status(t)

	revokedReg := registrytest.New(t, jose.SuiteGM)
	rv := revokedReg.Register(t, "platform-r.example", registrytest.AgeOnly())
	rvStatus := revokedReg.Revoke(t, "platform-r.example")

	cases := []struct {
		name  string
		jwt   func() string
		roots *registry.Roots
		want  []error
		at    time.Time
	}{
		{"B asks with A's client_id, its own key and certificate", func() string {
			ro := f.object(t, b, f.zkRequest(aID, &over18, 0), status)
			ro.ResponseURI = "https://platform-a.example/openid4vp/response"
			return sign(t, b.Key, b.Chain, ro)
		}, nil, []error{ErrClientID, wire.ErrClientIDNotCertified}, time.Time{}},
		{"B asks with A's client_id and A's certificate, its own key", func() string {
			return sign(t, b.Key, a.Chain, f.object(t, a, f.zkRequest(aID, &over18, 0), status))
		}, nil, []error{ErrUnsignedRequest, wire.ErrRequestSignature}, time.Time{}},
		{"B staples A's registration under its own certificate", func() string {
			ro := f.object(t, a, f.zkRequest(wire.ClientIDOf(b.Domain), &over18, 0), status)
			ro.ResponseURI = "https://platform-b.example/openid4vp/response"
			return sign(t, b.Key, b.Chain, ro)
		}, nil, []error{ErrUntrustedPlatform, registry.ErrDomainMismatch}, time.Time{}},
		{"a key no registrar certified", func() string {
			return sign(t, rogueKey, []*smx509.Certificate{rogueCert}, f.object(t, a, f.zkRequest(aID, &over18, 0), status))
		}, nil, []error{ErrUntrustedPlatform, registry.ErrUntrustedChain}, time.Time{}},
		{"a registrar the wallet does not trust", func() string {
			return sign(t, otherA.Key, otherA.Chain, f.object(t, otherA, f.zkRequest(aID, &over18, 0), other.Status(t)))
		}, nil, []error{ErrUntrustedPlatform, registry.ErrUntrustedChain}, time.Time{}},
		{"an expired registration", func() string {
			return sign(t, e.Key, e.Chain, later.object(t, e, later.zkRequest(wire.ClientIDOf(e.Domain), &over18, 0), eStatus))
		}, expiredReg.Roots(), []error{ErrUntrustedPlatform, registry.ErrExpired}, later.now},
		{"a revoked registration", func() string {
			return sign(t, rv.Key, rv.Chain, f.object(t, rv, f.zkRequest(wire.ClientIDOf(rv.Domain), &over18, 0), rvStatus))
		}, revokedReg.Roots(), []error{ErrUntrustedPlatform, registry.ErrRevoked}, revokedReg.Now()},
		{"no stapled status", func() string {
			ro := f.object(t, a, f.zkRequest(aID, &over18, 0), status)
			ro.VerifierInfo = ro.VerifierInfo[:1]
			return sign(t, a.Key, a.Chain, ro)
		}, nil, []error{ErrUntrustedPlatform, registry.ErrStatusMissing}, time.Time{}},
		{"no registration", func() string {
			ro := f.object(t, a, f.zkRequest(aID, &over18, 0), status)
			ro.VerifierInfo = ro.VerifierInfo[1:]
			return sign(t, a.Key, a.Chain, ro)
		}, nil, []error{ErrUntrustedPlatform}, time.Time{}},
		{"over-ask: a predicate outside the registration", func() string {
			return sign(t, a.Key, a.Chain, f.object(t, a, f.zkRequest(aID, &over18, 2), status))
		}, nil, []error{ErrNotEntitled}, time.Time{}},
		{"over-ask: a claim in clear outside the registration", func() string {
			return sign(t, a.Key, a.Chain, f.object(t, a, sdRequest(f.zkRequest(aID, nil, 0), "birth_date"), status))
		}, nil, []error{ErrNotEntitled}, time.Time{}},
		{"response_uri outside the domain", func() string {
			ro := f.object(t, a, f.zkRequest(aID, &over18, 0), status)
			ro.ResponseURI = "https://platform-b.example/openid4vp/response"
			return sign(t, a.Key, a.Chain, ro)
		}, nil, []error{ErrResponseURI, wire.ErrResponseURI}, time.Time{}},
		{"response_uri plain http", func() string {
			ro := f.object(t, a, f.zkRequest(aID, &over18, 0), status)
			ro.ResponseURI = "http://platform-a.example/openid4vp/response"
			return sign(t, a.Key, a.Chain, ro)
		}, nil, []error{ErrResponseURI}, time.Time{}},
		{"response_uri on the domain, not in the registration", func() string {
			ro := f.object(t, d, f.zkRequest(wire.ClientIDOf(d.Domain), &over18, 0), status)
			ro.ResponseURI = "https://platform-d.example/elsewhere"
			return sign(t, d.Key, d.Chain, ro)
		}, nil, []error{ErrResponseURI}, time.Time{}},
		{"unsigned (the request as plain JSON)", func() string {
			data, _ := json.Marshal(f.object(t, a, f.zkRequest(aID, &over18, 0), status))
			return string(data)
		}, nil, []error{ErrUnsignedRequest}, time.Time{}},
		{"expired request object", func() string {
			ro := f.object(t, a, f.zkRequest(aID, &over18, 0), status)
			ro.IssuedAt, ro.Expires = f.now.Add(-time.Hour).Unix(), f.now.Add(-time.Minute).Unix()
			return sign(t, a.Key, a.Chain, ro)
		}, nil, []error{ErrRequest, wire.ErrRequestObject}, time.Time{}},
	}
	for _, c := range cases {
		roots := f.roots
		if c.roots != nil {
			roots = c.roots
		}
		at := f.now
		if !c.at.IsZero() {
			at = c.at
		}
		_, err := Authorize(c.jwt(), roots, at)
		for _, w := range c.want {
			if !errors.Is(err, w) {
				t.Errorf("%s: got %v, want %v", c.name, err, w)
			}
		}
		if err != nil && !strings.Contains(err.Error(), "platform-") {
			t.Errorf("%s: the message does not name the platform: %v", c.name, err)
		}
		ar, err := Authorize(valid, f.roots, f.now)
		if err != nil {
			t.Fatalf("after %s, the valid request is refused: %v", c.name, err)
		}
		req := ar.Request()
		if ar.Platform != a.Domain || req.Scope != aID || req.Audience != aID {
			t.Fatalf("valid request: platform %s scope %s audience %s", ar.Platform, req.Scope, req.Audience)
		}
	}
	if _, err := Authorize(valid, nil, f.now); !errors.Is(err, ErrNoRegistrar) {
		t.Errorf("no pinned registrar: %v", err)
	}
}

// TestAuthorizedScopeIsTheClientID: the pseudonym scope is the
// authenticated platform, so two platforms get unrelated pseudonyms and one
// platform the same each time.
func TestAuthorizedScopeIsTheClientID(t *testing.T) {
	f := newPlatformFixture(t)
	a := f.reg.Register(t, "platform-a.example", registrytest.AgeOnly())
	b := f.reg.Register(t, "platform-b.example", registrytest.AgeOnly())
	status := f.reg.Status(t)
	secret := zkhash.HolderCommitment(fieldOne())
	pseudonym := func(pl *registry.Platform) string {
		ar, err := Authorize(sign(t, pl.Key, pl.Chain, f.object(t, pl, f.zkRequest(wire.ClientIDOf(pl.Domain), nil, 0), status)), f.roots, f.now)
		if err != nil {
			t.Fatal(err)
		}
		r := ar.Request()
		z, err := checkZK(&r, f.now)
		if err != nil {
			t.Fatal(err)
		}
		p := zkhash.Pseudonym(secret, z.statement.Scope)
		return zkhash.FormatElement(p)
	}
	a1, a2, b1 := pseudonym(a), pseudonym(a), pseudonym(b)
	if a1 != a2 {
		t.Error("one platform got two pseudonyms")
	}
	if a1 == b1 {
		t.Error("two platforms got the same pseudonym")
	}
}

// TestFetchRequest runs the invocation URL over HTTPS on loopback: the
// wallet fetches request_uri, checks the content type, and refuses a
// platform relaying another's request under its own client_id.
func TestFetchRequest(t *testing.T) {
	f := newPlatformFixture(t)
	a := f.reg.Register(t, "platform-a.example", registrytest.AgeOnly())
	status := f.reg.Status(t)
	over18 := 18
	jwtA := sign(t, a.Key, a.Chain, f.object(t, a, f.zkRequest(wire.ClientIDOf(a.Domain), &over18, 0), status))
	ctype := wire.RequestObjectMediaType
	var method string
	var bodyLen int
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		method, bodyLen = r.Method, len(body)
		w.Header().Set("Content-Type", ctype)
		_, _ = w.Write([]byte(jwtA))
	}))
	defer srv.Close()
	ctx := context.Background()
	inv := wire.InvocationURL(wire.ClientIDOf(a.Domain), srv.URL+"/request/1")
	ar, err := FetchRequest(ctx, srv.Client(), inv, f.roots, f.now)
	if err != nil || ar.Platform != a.Domain {
		t.Fatalf("valid invocation: %v", err)
	}
	// request_uri_method post: this wallet does not support it and sends
	// GET without wallet_metadata or wallet_nonce (OpenID4VP 1.0 §5.10);
	// the object is checked exactly as one fetched by a plain GET.
	if ar, err := FetchRequest(ctx, srv.Client(), inv+"&request_uri_method=post", f.roots, f.now); err != nil || ar.Platform != a.Domain || method != http.MethodGet || bodyLen != 0 {
		t.Fatalf("request_uri_method post: %v, fetched with %s and a body of %d bytes", err, method, bodyLen)
	}
	relayed := wire.InvocationURL(wire.ClientIDOf("platform-b.example"), srv.URL+"/request/1")
	if _, err := FetchRequest(ctx, srv.Client(), relayed, f.roots, f.now); !errors.Is(err, ErrClientID) {
		t.Errorf("B relaying A's request: %v", err)
	}
	ctype = "application/json"
	if _, err := FetchRequest(ctx, srv.Client(), inv, f.roots, f.now); !errors.Is(err, ErrUnsignedRequest) {
		t.Errorf("request_uri serving JSON: %v", err)
	}
	ctype = wire.RequestObjectMediaType
	if _, err := FetchRequest(ctx, srv.Client(), jwtA, f.roots, f.now); err != nil {
		t.Errorf("the request object itself: %v", err)
	}
}

func fieldOne() frElement {
	var e frElement
	e.SetOne()
	return e
}
