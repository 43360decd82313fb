package verifier_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

// testDepth keeps proofs fast; the production depth only changes the path
// length, which the circuits package tests.
const testDepth = 4

var base = time.Date(2026, time.March, 1, 10, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t      *testing.T
	iss    *verifiertest.Issuer
	src    *verifiertest.FlakySource
	adult  *verifiertest.Holder
	minor  *verifiertest.Holder
	epoch  uint64
	clk    *clock
	opts   verifier.Options
	v      *verifier.Verifier
	ctx    context.Context
	policy verifier.Policy
}

func intp(n int) *int { return &n }

// setup: an issuer with an adult (born 2000) and a 15-year-old, published at
// base, and a verifier accepting development keys.
func setup(t *testing.T, edit func(*verifier.Options)) *env {
	t.Helper()
	iss := verifiertest.NewIssuer(t, testDepth, base)
	adult := iss.Issue(t, verifiertest.Adult(schemas.Date{Year: 2000, Month: time.January, Day: 1}), base)
	minorAttrs := verifiertest.Adult(schemas.Date{Year: 2010, Month: time.June, Day: 1})
	minorAttrs.GuardianAcknowledgement = true
	minor := iss.Issue(t, minorAttrs, base)
	ep := iss.Publish(t, base)
	e := &env{t: t, iss: iss, adult: adult, minor: minor, epoch: ep.Epoch, clk: &clock{t: base}, ctx: context.Background(),
		policy: verifier.Policy{Scope: "platform-a", AgeOver: intp(18)}}
	e.src = &verifiertest.FlakySource{Source: iss.Source()}
	e.opts = verifier.Options{Dir: t.TempDir(), Source: e.src, Trust: iss.Trust(), Now: e.clk.now, AllowDevelopmentKeys: true}
	if edit != nil {
		edit(&e.opts)
	}
	v, err := verifier.New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	e.v = v
	return e
}

func (e *env) request(p verifier.Policy) *verifier.Request {
	e.t.Helper()
	r, err := e.v.NewRequest(e.ctx, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) verify(p any, expected *verifier.Request) *verifier.Result {
	e.t.Helper()
	var doc []byte
	switch p := p.(type) {
	case []byte:
		doc = p
	default:
		doc = verifiertest.JSON(e.t, p)
	}
	res, err := e.v.Verify(e.ctx, doc, expected)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.Valid != (len(res.Reasons) == 0) {
		e.t.Fatalf("valid %v with reasons %v", res.Valid, res.Reasons)
	}
	return res
}

func wantReason(t *testing.T, res *verifier.Result, reason string) {
	t.Helper()
	if res.Valid || len(res.Reasons) == 0 || res.Reasons[0] != reason {
		t.Fatalf("result %+v, want refused with %q", res, reason)
	}
}

func TestZKValid(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	if req.Today != "2026-03-01" || req.BornBefore == nil || *req.BornBefore != "2008-03-01" || req.BornAfter != nil {
		t.Errorf("window: today %s, born %v…%v", req.Today, req.BornAfter, req.BornBefore)
	}
	if len(req.Epochs) != 1 || req.Epochs[0] != e.epoch || req.Audience != "platform-a" || req.ExpiresAt != "2026-03-01T10:05:00Z" {
		t.Errorf("request %+v", req)
	}
	if n, err := base64.RawURLEncoding.DecodeString(req.Nonce); err != nil || len(n) != verifier.NonceSize {
		t.Errorf("nonce %q", req.Nonce)
	}
	res := e.verify(e.adult.Prove(t, req, e.epoch), req)
	if !res.Valid || !res.Predicates["age_over_18"] || res.Pseudonym != e.adult.Pseudonym(t, "platform-a") ||
		res.Epoch == nil || *res.Epoch != e.epoch || !res.DevelopmentKeys || res.Claims != nil {
		t.Fatalf("result %+v", res)
	}
	// The same holder at another platform: another pseudonym.
	e.policy.Scope = "platform-b"
	req = e.request(e.policy)
	res2 := e.verify(e.adult.Prove(t, req, e.epoch), nil)
	if !res2.Valid || res2.Pseudonym == res.Pseudonym {
		t.Fatalf("second platform: %+v", res2)
	}
}

func TestZKPolicyPredicates(t *testing.T) {
	e := setup(t, nil)
	req := e.request(verifier.Policy{Scope: "s", AgeOver: intp(14), AgeUnder: intp(18), MinLevel: 2, GuardianConsent: false})
	res := e.verify(e.minor.Prove(t, req, e.epoch), nil)
	want := map[string]bool{"age_over_14": true, "age_under_18": true, "min_level_2": true}
	if !res.Valid || len(res.Predicates) != len(want) {
		t.Fatalf("result %+v", res)
	}
	for k := range want {
		if !res.Predicates[k] {
			t.Errorf("predicate %s missing", k)
		}
	}
	req = e.request(verifier.Policy{Scope: "s", GuardianConsent: true})
	if len(req.Flags) != 1 || req.Flags[0] != verifier.FlagGuardianConsent || req.BornAfter != nil || req.BornBefore != nil {
		t.Errorf("request %+v", req)
	}
}

func TestReplayedNonce(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	if res := e.verify(p, req); !res.Valid {
		t.Fatal(res.Reasons)
	}
	wantReason(t, e.verify(p, req), verifier.ReasonUnknownNonce)
}

func TestUnknownNonce(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	p.RequestID = "never-issued"
	wantReason(t, e.verify(p, nil), verifier.ReasonUnknownNonce)
}

func TestRequestFromAnotherVerifier(t *testing.T) {
	e := setup(t, nil)
	other := setup(t, nil)
	req := other.request(e.policy)
	wantReason(t, e.verify(e.adult.Prove(t, req, e.epoch), nil), verifier.ReasonUnknownNonce)
}

func TestExpiredRequest(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	e.clk.add(verifier.DefaultRequestTTL + time.Second)
	wantReason(t, e.verify(p, nil), verifier.ReasonExpired)
}

func TestOtherRequestAndMismatch(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	other := *req
	other.ID = "another"
	wantReason(t, e.verify(p, &other), verifier.ReasonOtherRequest)
	changed := *req
	changed.Scope = "platform-z"
	wantReason(t, e.verify(p, &changed), verifier.ReasonRequestMismatch)
}

func TestWrongCircuit(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	p.CircuitID = "z" + strings.Repeat("1", 40)
	wantReason(t, e.verify(p, nil), verifier.ReasonWrongCircuit)
}

func TestEpochNotAccepted(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	older := e.epoch - 1
	p.Epoch = &older
	wantReason(t, e.verify(p, nil), verifier.ReasonEpoch)
}

func TestRootGrace(t *testing.T) {
	e := setup(t, func(o *verifier.Options) { o.RootGrace = 15 * time.Minute })
	e.clk.add(10 * time.Minute)
	next := e.iss.Publish(t, e.clk.now())
	e.clk.add(10 * time.Minute)
	req := e.request(e.policy)
	if len(req.Epochs) != 2 || req.Epochs[0] != next.Epoch || req.Epochs[1] != e.epoch {
		t.Fatalf("epochs %v, want [%d %d]", req.Epochs, next.Epoch, e.epoch)
	}
	// Without grace only the latest epoch is accepted.
	f := setup(t, nil)
	f.iss.Publish(t, base)
	if req := f.request(f.policy); len(req.Epochs) != 1 {
		t.Fatalf("epochs %v without grace", req.Epochs)
	}
}

func TestBadRootSignature(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	forger := verifiertest.NewIssuer(t, testDepth, base)
	for forger.Publish(t, base).Epoch < e.epoch {
	}
	e.iss.WriteFile(t, publication.RootName(e.epoch), forger.ReadFile(t, publication.RootName(e.epoch)))
	e.undecided(p, verifier.ErrIssuer)
}

func TestRootOfAnotherEpoch(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	later := e.iss.Publish(t, base)
	e.iss.WriteFile(t, publication.RootName(e.epoch), []byte(later.Statement))
	e.undecided(p, verifier.ErrIssuer)
}

func TestRootFromAnotherIssuer(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	e.iss.WriteFile(t, publication.RootName(e.epoch), []byte(e.iss.PublishAs(t, "https://other.example", base)))
	e.undecided(p, verifier.ErrIssuer)
}

func TestRootUnavailable(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	if err := os.Remove(filepath.Join(e.iss.Dir, "public", publication.RootName(e.epoch))); err != nil {
		t.Fatal(err)
	}
	e.undecided(p, publication.ErrNotFound)
}

func TestStaleRoot(t *testing.T) {
	e := setup(t, func(o *verifier.Options) { o.MaxRootAge = 10 * time.Minute })
	e.clk.add(9 * time.Minute)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	e.clk.add(2 * time.Minute)
	wantReason(t, e.verify(p, nil), verifier.ReasonStaleRoot)
	// A request is not made against a root that is already too old.
	if _, err := e.v.NewRequest(e.ctx, e.policy); !errors.Is(err, verifier.ErrStaleRoot) || !strings.Contains(err.Error(), "must publish") {
		t.Fatalf("request on a stale latest root: %v", err)
	}
}

func TestWrongScope(t *testing.T) {
	e := setup(t, nil)
	reqA := e.request(e.policy)
	e.policy.Scope = "platform-b"
	reqB := e.request(e.policy)
	// A proof made for platform-a's request, sent as the answer to
	// platform-b's: the scope and nonce are B's, so it cannot verify.
	p := e.adult.Prove(t, reqA, e.epoch)
	p.RequestID = reqB.ID
	wantReason(t, e.verify(p, nil), verifier.ReasonProof)
}

func TestWrongPseudonym(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	p.Pseudonym = e.adult.Pseudonym(t, "platform-b")
	wantReason(t, e.verify(p, nil), verifier.ReasonProof)
}

func TestMalformedPseudonym(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	p.Pseudonym = "0x1234"
	wantReason(t, e.verify(p, nil), verifier.ReasonPseudonym)
}

func TestTamperedProof(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	raw, _ := base64.RawURLEncoding.DecodeString(p.Proof)
	raw[0] ^= 0xff // the version byte
	p.Proof = base64.RawURLEncoding.EncodeToString(raw)
	wantReason(t, e.verify(p, nil), verifier.ReasonProofEncoding)

	// A well-formed proof of another statement (another nonce) in its place.
	req2 := e.request(e.policy)
	p2 := e.adult.Prove(t, req2, e.epoch)
	req3 := e.request(e.policy)
	p3 := e.adult.Prove(t, req3, e.epoch)
	p2.Proof = p3.Proof
	wantReason(t, e.verify(p2, nil), verifier.ReasonProof)
	p3.Proof = "not base64!"
	wantReason(t, e.verify(p3, nil), verifier.ReasonProofEncoding)
}

func TestOversizedAndMalformedPresentations(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	good := verifiertest.JSON(t, e.adult.Prove(t, req, e.epoch))
	big := append([]byte(`{"version":1,"type":"zk","request_id":"`), make([]byte, verifier.MaxDocumentSize)...)
	wantReason(t, e.verify(big, nil), verifier.ReasonTooLarge)
	for name, doc := range map[string]string{
		"not json":         `{"version":1,`,
		"trailing":         string(good) + "{}",
		"unknown member":   strings.Replace(string(good), `"version":1`, `"version":1,"extra":1`, 1),
		"version 2":        strings.Replace(string(good), `"version":1`, `"version":2`, 1),
		"unknown type":     strings.Replace(string(good), `"type":"zk"`, `"type":"zk2"`, 1),
		"no request id":    strings.Replace(string(good), `"request_id":"`+req.ID+`"`, `"request_id":""`, 1),
		"zk with sd_jwt":   strings.Replace(string(good), `"version":1`, `"version":1,"sd_jwt":"x"`, 1),
		"sd-jwt with zk":   strings.Replace(string(good), `"type":"zk"`, `"type":"sd-jwt","sd_jwt":"x"`, 1),
		"zk without epoch": `{"version":1,"type":"zk","request_id":"` + req.ID + `","circuit_id":"z","pseudonym":"0x","proof":"A"}`,
	} {
		if res := e.verify([]byte(doc), nil); res.Valid || res.Reasons[0] != verifier.ReasonMalformed {
			t.Errorf("%s: %+v", name, res)
		}
	}
	// None of those consumed the request.
	if res := e.verify(good, nil); !res.Valid {
		t.Fatalf("good presentation after malformed ones: %v", res.Reasons)
	}
}

func TestWrongPresentationType(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	sdReq := e.request(verifier.Policy{Scope: "platform-a", SDJWTClaims: []string{"age_over_18"}, AgeOver: intp(18)})
	p := e.adult.Prove(t, req, e.epoch)
	p.RequestID = sdReq.ID
	wantReason(t, e.verify(p, nil), verifier.ReasonWrongType)
	req = e.request(e.policy)
	wantReason(t, e.verify(e.adult.Present(t, req, []string{"age_over_18"}, "", "", true, base), nil), verifier.ReasonWrongType)
}

// TestIssuerChanged: a publication renamed to another issuer id after a
// request was made no longer matches the pins. The verifier cannot decide
// (an error, not a verdict) and the request stays usable.
func TestIssuerChanged(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	e.iss.Meta.Issuer = "https://renamed.example"
	e.iss.WriteMetadata(t)
	e.clk.add(verifier.DefaultCacheTTL + time.Second)
	if res, err := e.v.Verify(e.ctx, verifiertest.JSON(t, p), nil); !errors.Is(err, verifier.ErrTrustChanged) ||
		!strings.Contains(err.Error(), "renamed.example") {
		t.Fatalf("renamed issuer: %+v, %v, want ErrTrustChanged", res, err)
	}
	e.iss.Meta.Issuer = verifiertest.IssuerID
	e.iss.WriteMetadata(t)
	if res := e.verify(p, nil); !res.Valid {
		t.Fatalf("after the rename was undone: %v", res.Reasons)
	}
}

// TestDevelopmentKeysRefused: development keys need both the pin's and the
// options' consent.
func TestDevelopmentKeysRefused(t *testing.T) {
	e := setup(t, func(o *verifier.Options) { o.AllowDevelopmentKeys = false })
	if _, err := e.v.NewRequest(e.ctx, e.policy); !errors.Is(err, verifier.ErrUntrustedKeys) {
		t.Fatalf("development keys: %v", err)
	}
	f := setup(t, func(o *verifier.Options) { o.Trust.Issuers[0].AllowDevelopmentKeys = false })
	if _, err := f.v.NewRequest(f.ctx, f.policy); !errors.Is(err, verifier.ErrUntrustedKeys) {
		t.Fatalf("development keys not allowed by the pin: %v", err)
	}
	g := setup(t, func(o *verifier.Options) { o.Trust.Issuers[0].CircuitIDs = []string{"zSomeOtherCircuit"} })
	if _, err := g.v.NewRequest(g.ctx, g.policy); !errors.Is(err, verifier.ErrTrustChanged) {
		t.Fatalf("untrusted circuit: %v", err)
	}
}

func TestInconsistentPublication(t *testing.T) {
	for name, edit := range map[string]func(e *env){
		"circuit id": func(e *env) { e.iss.Meta.CircuitID = "zOther"; e.iss.WriteMetadata(t) },
		"depth":      func(e *env) { e.iss.Meta.Depth = testDepth + 2; e.iss.WriteMetadata(t) },
		"schema":     func(e *env) { e.iss.Meta.SchemaID = "zOther"; e.iss.WriteMetadata(t) },
		"verifying key": func(e *env) {
			vk := e.iss.ReadFile(t, publication.VerifyingKeyName)
			vk[len(vk)-1] ^= 1
			e.iss.WriteFile(t, publication.VerifyingKeyName, vk)
		},
		"manifest": func(e *env) {
			var m map[string]any
			json.Unmarshal(e.iss.ReadFile(t, publication.ManifestName), &m)
			m["backend"] = "plonk"
			e.iss.WriteFile(t, publication.ManifestName, verifiertest.JSON(t, m))
		},
		"issuer.json": func(e *env) { e.iss.WriteFile(t, publication.IssuerName, []byte(`{"issuer":1}`)) },
	} {
		e := setup(t, nil)
		edit(e)
		if _, err := e.v.NewRequest(e.ctx, e.policy); !errors.Is(err, verifier.ErrIssuer) {
			t.Errorf("%s: %v, want ErrIssuer", name, err)
		}
	}
}

func TestPolicyErrors(t *testing.T) {
	e := setup(t, nil)
	for name, p := range map[string]verifier.Policy{
		"no scope":           {AgeOver: intp(18)},
		"level 5":            {Scope: "s", MinLevel: 5},
		"empty window":       {Scope: "s", AgeOver: intp(30), AgeUnder: intp(20)},
		"age 300":            {Scope: "s", AgeOver: intp(300)},
		"unknown claim":      {Scope: "s", SDJWTClaims: []string{"shoe_size"}},
		"undisclosable":      {Scope: "s", SDJWTClaims: []string{"vct"}},
		"age not decidable":  {Scope: "s", AgeOver: intp(18), SDJWTClaims: []string{"name"}},
		"level not decided":  {Scope: "s", MinLevel: 2, SDJWTClaims: []string{"age_over_18"}},
		"consent not shown":  {Scope: "s", GuardianConsent: true, SDJWTClaims: []string{"age_over_18"}},
		"under not decided":  {Scope: "s", AgeUnder: intp(18), SDJWTClaims: []string{"age_over_18"}},
		"over 21 not shown":  {Scope: "s", AgeOver: intp(21), SDJWTClaims: []string{"age_over_18"}},
		"scope too long":     {Scope: strings.Repeat("s", schemas.MaxScopeBytes+1)},
		"negative min level": {Scope: "s", MinLevel: -1},
	} {
		if _, err := e.v.NewRequest(e.ctx, p); !errors.Is(err, verifier.ErrPolicy) {
			t.Errorf("%s: %v, want ErrPolicy", name, err)
		}
	}
}

func TestConcurrentReplayOneWins(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	doc := verifiertest.JSON(t, e.adult.Prove(t, req, e.epoch))
	const n = 16
	var wg sync.WaitGroup
	results := make(chan *verifier.Result, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.v.Verify(e.ctx, doc, nil)
			if err != nil {
				t.Error(err)
				return
			}
			results <- res
		}()
	}
	wg.Wait()
	close(results)
	valid := 0
	for res := range results {
		if res.Valid {
			valid++
		} else if res.Reasons[0] != verifier.ReasonUnknownNonce {
			t.Errorf("reason %v", res.Reasons)
		}
	}
	if valid != 1 {
		t.Fatalf("%d of %d concurrent verifications of one nonce succeeded, want exactly 1", valid, n)
	}
}

func TestConcurrentBurst(t *testing.T) {
	e := setup(t, nil)
	const n = 50
	docs := make([][]byte, n)
	for k := range docs {
		req := e.request(e.policy)
		if k%5 == 0 {
			sdReq := e.request(verifier.Policy{Scope: "platform-a", AgeOver: intp(18), SDJWTClaims: []string{"age_over_18"}})
			docs[k] = verifiertest.JSON(t, e.adult.Present(t, sdReq, nil, "", "", true, base))
			continue
		}
		docs[k] = verifiertest.JSON(t, e.adult.Prove(t, req, e.epoch))
	}
	var wg sync.WaitGroup
	for _, doc := range docs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.v.Verify(e.ctx, doc, nil)
			if err != nil {
				t.Error(err)
			} else if !res.Valid {
				t.Errorf("refused: %v", res.Reasons)
			}
		}()
	}
	wg.Wait()
}

// TestRootSupersededAfterRequest: a request made before a new epoch (a
// revocation, say) is answered under the old root after the issuer published
// the new one; beyond the grace period the proof is refused.
func TestRootSupersededAfterRequest(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	e.clk.add(time.Minute)
	e.iss.Publish(t, e.clk.now())
	e.clk.add(verifier.DefaultCacheTTL + time.Second)
	wantReason(t, e.verify(p, nil), verifier.ReasonSuperseded)

	// Within the grace period the same situation is accepted.
	f := setup(t, func(o *verifier.Options) { o.RootGrace = time.Hour })
	req = f.request(f.policy)
	p = f.adult.Prove(t, req, f.epoch)
	f.clk.add(time.Minute)
	f.iss.Publish(t, f.clk.now())
	f.clk.add(verifier.DefaultCacheTTL + time.Second)
	if res := f.verify(p, nil); !res.Valid {
		t.Fatalf("superseded within the grace period: %v", res.Reasons)
	}
}
