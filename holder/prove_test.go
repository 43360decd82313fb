package holder

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// verifyZK checks a presentation the way a verifier does: every public
// input from its own request and the root it verified itself.
func verifyZK(t *testing.T, iss *fakeIssuer, r *Request, p *Presentation) {
	t.Helper()
	if p.Type != PresentationZK || p.RequestID != r.ID || p.Epoch == nil || p.CircuitID != r.CircuitID {
		t.Fatalf("presentation %+v", p)
	}
	e, err := iss.store.Statement(*p.Epoch)
	if err != nil {
		t.Fatal(err)
	}
	verifyZKUnder(t, e.Statement, iss.key.Public(), r, p)
}

// verifyZKUnder verifies a ZK presentation against the root statement of
// its epoch, signed by key.
func verifyZKUnder(t *testing.T, statement string, key *jose.PublicKey, r *Request, p *Presentation) {
	t.Helper()
	keysDir, err := devKeys()
	if err != nil {
		t.Fatal(err)
	}
	c, err := circuits.Compile(testDepth)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := circuits.Load(keysDir, c, circuits.LoadOptions{AllowDevelopment: true, VerifyingOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := revocation.VerifyRootStatement(statement, key)
	if err != nil {
		t.Fatal(err)
	}
	z, err := checkZK(r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	z.statement.Root = rs.Root
	raw, err := base64.RawURLEncoding.DecodeString(p.Proof)
	if err != nil {
		t.Fatal(err)
	}
	var proof circuits.Proof
	if err := proof.UnmarshalBinary(raw); err != nil {
		t.Fatal(err)
	}
	pseudonym, err := zkhash.ParseElement(p.Pseudonym)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Verify(&z.statement, pseudonym, &proof); err != nil {
		t.Fatalf("the proof does not verify: %v", err)
	}
}

func TestProvePseudonymsAndRefresh(t *testing.T) {
	iss := newIssuer(t)
	iss.publishCircuit()
	w := newWallet(t)
	b := enrol(t, iss, w, adult)
	enrol(t, iss, newWallet(t), adult)
	latest := iss.publish()
	ctx := context.Background()

	// The request accepts only the latest root: the wallet refreshes first.
	var warnings []string
	warn := func(m string) { warnings = append(warnings, m) }
	r1 := zkRequestFor(t, "platform-a", intp(18), latest.Epoch, b.Path.Epoch)
	p1, err := w.prove(ctx, r1, iss.source(), ProveOptions{Warn: warn})
	if err != nil {
		t.Fatal(err)
	}
	if *p1.Epoch != latest.Epoch {
		t.Fatalf("proved under epoch %d, want the newest accepted %d", *p1.Epoch, latest.Epoch)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "refreshed the witness") || !strings.Contains(strings.Join(warnings, "\n"), "DEVELOPMENT") {
		t.Fatalf("warnings %q", warnings)
	}
	verifyZK(t, iss, r1, p1)
	// The presentation is the JSON the contract fixes.
	data, err := MarshalPresentation(p1)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "type", "request_id", "circuit_id", "epoch", "pseudonym", "proof"} {
		if _, ok := m[k]; !ok {
			t.Errorf("presentation lacks %q: %s", k, data)
		}
	}

	// Same platform again: same pseudonym, from the cached keys.
	r2 := zkRequestFor(t, "platform-a", intp(18), latest.Epoch)
	p2, err := w.prove(ctx, r2, iss.source(), ProveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p2.Pseudonym != p1.Pseudonym {
		t.Fatal("one platform sees two pseudonyms")
	}
	// Another platform: another pseudonym.
	r3 := zkRequestFor(t, "platform-b", intp(18), latest.Epoch)
	p3, err := w.prove(ctx, r3, iss.source(), ProveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p3.Pseudonym == p1.Pseudonym {
		t.Fatal("two platforms see the same pseudonym")
	}
	verifyZK(t, iss, r3, p3)
}

func TestProveRefusesWithTheReason(t *testing.T) {
	iss := newIssuer(t)
	ctx := context.Background()
	wTeen := newWallet(t)
	bTeen := enrol(t, iss, wTeen, teen)
	wChild := newWallet(t)
	enrol(t, iss, wChild, child)
	latest := iss.publish()
	epochs := []uint64{latest.Epoch}

	// These fail the native check, before any key is fetched.
	_, err := wTeen.prove(ctx, zkRequestFor(t, "platform-a", intp(18), epochs...), iss.source(), ProveOptions{})
	wantIs(t, err, circuits.ErrBirthDate)
	wantErr(t, err, "birth date is outside the requested window: the holder is not 18 or older")

	under := zkRequestFor(t, "platform-a", nil, epochs...)
	under.Predicates.AgeUnder = intp(14)
	after, _, err := schemas.AgeWindow(schemas.DateOf(testNow), nil, intp(14))
	if err != nil {
		t.Fatal(err)
	}
	d, err := schemas.DateFromCode(after)
	if err != nil {
		t.Fatal(err)
	}
	s := d.String()
	under.BornAfter = &s
	_, err = wTeen.prove(ctx, under, iss.source(), ProveOptions{})
	wantErr(t, err, "the holder is not under 14")

	level := zkRequestFor(t, "platform-a", nil, epochs...)
	level.MinLevel = 3
	_, err = wTeen.prove(ctx, level, iss.source(), ProveOptions{})
	wantIs(t, err, circuits.ErrLevel)

	consent := zkRequestFor(t, "platform-a", nil, epochs...)
	consent.Flags = []string{"guardian_consent"}
	_, err = wTeen.prove(ctx, consent, iss.source(), ProveOptions{})
	wantIs(t, err, circuits.ErrFlags)

	// Revoked: refused after the refresh the newer epoch triggers.
	if err := iss.store.Revoke(bTeen.Serial); err != nil {
		t.Fatal(err)
	}
	newer := iss.publish()
	_, err = wTeen.prove(ctx, zkRequestFor(t, "platform-a", nil, newer.Epoch), iss.source(), ProveOptions{})
	wantIs(t, err, ErrRevoked)
}

func TestProveChecksTheRequest(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	b := enrol(t, iss, w, adult)
	ctx := context.Background()
	ep := b.Path.Epoch
	cases := []struct {
		name string
		edit func(r *Request)
		want string
	}{
		{"window narrower than the predicates", func(r *Request) {
			s := "1990-01-01"
			r.BornAfter = &s
		}, "would reveal more than it says"},
		{"window without predicates", func(r *Request) { r.Predicates.AgeOver = nil }, "would reveal more than it says"},
		{"today far from the wallet's", func(r *Request) { r.Today = "2026-10-01" }, "not the wallet's today"},
		{"expired", func(r *Request) { r.ExpiresAt = testNow.Add(-time.Minute).Format(time.RFC3339) }, "expired"},
		{"unknown flag", func(r *Request) { r.Flags = []string{"is_admin"} }, "unknown flag"},
		{"an SD-JWT request", func(r *Request) { r.SDJWT = &SDJWTRequest{Claims: []string{"age_over_18"}} }, "holder present"},
		{"no epochs", func(r *Request) { r.Epochs = nil }, "accepts no epoch"},
		{"short nonce", func(r *Request) { r.Nonce = "AAAA" }, "nonce of 3 bytes"},
		{"bad nonce", func(r *Request) { r.Nonce = "***" }, "nonce is not base64url"},
		{"empty scope", func(r *Request) { r.Scope = "" }, "scope"},
		{"version", func(r *Request) { r.Version = 3 }, "version 3"},
		{"unknown epoch", func(r *Request) { r.Epochs = []uint64{ep - 1} }, "has paths for epochs"},
		{"another issuer", func(r *Request) { r.Issuer = "https://other.example" }, "no credential of https://other.example"},
		{"another circuit", func(r *Request) { r.CircuitID = "zAnotherCircuit" }, "issuer publishes circuit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := zkRequestFor(t, "platform-a", intp(18), ep)
			tc.edit(r)
			_, err := w.prove(ctx, r, iss.source(), ProveOptions{})
			wantErr(t, err, tc.want)
		})
	}
}

func TestProveRefusesKeysForAnotherCircuit(t *testing.T) {
	iss := newIssuer(t)
	iss.publishCircuit()
	w := newWallet(t)
	b := enrol(t, iss, w, adult)
	// issuer.json and the request agree, the manifest does not.
	iss.writeMetadata(testIssuer, iss.key.Public(), "zSomethingElse")
	r := zkRequestFor(t, "platform-a", intp(18), b.Path.Epoch)
	r.CircuitID = "zSomethingElse"
	_, err := w.prove(context.Background(), r, iss.source(), ProveOptions{})
	wantErr(t, err, "circuit manifest is for circuit")
	// A manifest that lies about its keys is caught by circuits.Load.
	iss.publishCircuit()
	m, err := readCachedManifest()
	if err != nil {
		t.Fatal(err)
	}
	m.ProvingKeyDigest = "zForged"
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	iss.write(publication.ManifestName, data)
	r.CircuitID = m.CircuitID
	_, err = w.prove(context.Background(), r, iss.source(), ProveOptions{})
	wantErr(t, err, "proving key")
}

func TestRevealNamesWhatIsShown(t *testing.T) {
	zk := reveal(zkRequestFor(t, "platform-a", intp(18), 1), "platform-a.example")
	for _, want := range []string{"platform-a", "age 18 or over", "pseudonym", "will not learn your name"} {
		if !strings.Contains(zk, want) {
			t.Errorf("ZK reveal lacks %q:\n%s", want, zk)
		}
	}
	sd := reveal(sdRequestFor(t, "platform-a", "age_over_18", "name"), "platform-a.example")
	for _, want := range []string{"SEE", "age_over_18", "name"} {
		if !strings.Contains(sd, want) {
			t.Errorf("SD-JWT reveal lacks %q:\n%s", want, sd)
		}
	}
}
