package verifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/multiformats/go-multibase"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/ceremony"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

// reopen closes the env's verifier and opens another on the same directory
// (the same request store and high-water marks) with edited options.
func (e *env) reopen(edit func(*verifier.Options)) {
	e.t.Helper()
	if err := e.v.Close(); err != nil {
		e.t.Fatal(err)
	}
	opts := e.opts
	opts.Trust = e.iss.Trust()
	if edit != nil {
		edit(&opts)
	}
	v, err := verifier.New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { v.Close() })
	e.v = v
}

// expire moves the clock past the cache, so the next use reads the
// publication again.
func (e *env) expire() { e.clk.add(verifier.DefaultCacheTTL + time.Second) }

// undecided verifies p and wants an error wrapping target and no result.
func (e *env) undecided(p any, target error) {
	e.t.Helper()
	res, err := e.v.Verify(e.ctx, verifiertest.JSON(e.t, p), nil)
	if !errors.Is(err, target) || res != nil {
		e.t.Fatalf("result %+v, error %v; want no result and an error wrapping %v", res, err, target)
	}
}

func TestNotPinned(t *testing.T) {
	iss := verifiertest.NewIssuer(t, testDepth, base)
	dir := t.TempDir()
	_, err := verifier.New(verifier.Options{Dir: dir, Source: iss.Source(), AllowDevelopmentKeys: true})
	if !errors.Is(err, verifier.ErrNotPinned) || !strings.Contains(err.Error(), "yinzheng verifier trust") {
		t.Fatalf("no trust file: %v, want ErrNotPinned naming the command", err)
	}
	_, err = verifier.New(verifier.Options{Dir: dir, Source: iss.Source(), Trust: &verifier.Trust{Version: verifier.TrustVersion}})
	if !errors.Is(err, verifier.ErrNotPinned) {
		t.Fatalf("empty trust: %v, want ErrNotPinned", err)
	}
	// Pinned in the directory: New reads it.
	iss.Pin(t, dir)
	v, err := verifier.New(verifier.Options{Dir: dir, Source: iss.Source(), AllowDevelopmentKeys: true,
		Now: func() time.Time { return base }})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.NewRequest(context.Background(), verifier.Policy{Scope: "s"}); err != nil {
		t.Fatalf("request with the trust file: %v", err)
	}
}

func TestTrustFile(t *testing.T) {
	iss := verifiertest.NewIssuer(t, testDepth, base)
	dir := t.TempDir()
	want := iss.Trust()
	if err := want.Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := verifier.ReadTrust(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ti := got.Lookup(verifiertest.IssuerID); ti == nil || len(ti.Keys) != 1 || !ti.Keys[0].Equal(iss.Key.Public()) ||
		len(ti.CircuitIDs) != 1 || ti.CircuitIDs[0] != iss.Keys.Manifest.CircuitID || !ti.AllowDevelopmentKeys {
		t.Fatalf("read back %+v", got)
	}
	if info, err := os.Stat(filepath.Join(dir, verifier.TrustFileName)); err != nil || info.Mode().Perm()&0o022 != 0 {
		t.Fatalf("trust file: %v, %v", info, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	good, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	kid := `"issuer":"` + verifiertest.IssuerID + `"`
	for name, doc := range map[string]string{
		"unknown member": strings.Replace(string(good), `"version":1`, `"version":1,"extra":true`, 1),
		"version 2":      strings.Replace(string(good), `"version":1`, `"version":2`, 1),
		"trailing":       string(good) + "{}",
		"no key":         `{"version":1,"issuers":[{` + kid + `,"keys":[],"circuit_ids":["z1"]}]}`,
		"null key":       `{"version":1,"issuers":[{` + kid + `,"keys":[null],"circuit_ids":["z1"]}]}`,
		"no circuit":     `{"version":1,"issuers":[{` + kid + `,"keys":[` + jwk(t, iss.Key.Public()) + `],"circuit_ids":[]}]}`,
		"empty issuer":   `{"version":1,"issuers":[{"issuer":"","keys":[` + jwk(t, iss.Key.Public()) + `],"circuit_ids":["z1"]}]}`,
		"pinned twice": `{"version":1,"issuers":[{` + kid + `,"keys":[` + jwk(t, iss.Key.Public()) + `],"circuit_ids":["z1"]},{` +
			kid + `,"keys":[` + jwk(t, iss.Key.Public()) + `],"circuit_ids":["z1"]}]}`,
	} {
		if _, err := verifier.ParseTrust([]byte(doc)); !errors.Is(err, verifier.ErrTrustFile) && !errors.Is(err, jose.ErrMalformed) {
			t.Errorf("%s: %v, want ErrTrustFile", name, err)
		}
	}
}

func jwk(t *testing.T, k *jose.PublicKey) string {
	t.Helper()
	data, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// relabel rewrites the published manifest's setup label (and, when id is
// not empty, its circuit id and issuer.json's): the attack of an issuer, a
// mirror or a man in the middle passing development keys off as ceremony
// keys.
func relabel(t *testing.T, iss *verifiertest.Issuer, id string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(iss.ReadFile(t, publication.ManifestName), &m); err != nil {
		t.Fatal(err)
	}
	m["setup"] = circuits.SetupCeremony
	delete(m, "setup_note")
	if id != "" {
		m["circuit_id"] = id
		iss.Meta.CircuitID = id
		iss.WriteMetadata(t)
	}
	iss.WriteFile(t, publication.ManifestName, verifiertest.JSON(t, m))
}

// TestRelabelledDevelopmentKeysAtPinTime: development keys relabelled
// "ceremony" are still development keys, and are not pinned unless allowed,
// even when the operator is talked into giving their circuit id.
func TestRelabelledDevelopmentKeysAtPinTime(t *testing.T) {
	iss := verifiertest.NewIssuer(t, testDepth, base)
	relabel(t, iss, "")
	ctx := context.Background()
	p, err := verifier.Inspect(ctx, iss.Source())
	if err != nil {
		t.Fatal(err)
	}
	if !p.DevelopmentKeys || p.Setup != circuits.SetupCeremony || p.CircuitID != iss.Keys.Manifest.CircuitID {
		t.Fatalf("inspection %+v: relabelled development keys not recognised", p)
	}
	for name, opts := range map[string]verifier.PinOptions{
		"no option":        {},
		"their circuit id": {CircuitID: p.CircuitID},
	} {
		if ti, err := p.Pin(ctx, opts); !errors.Is(err, verifier.ErrUntrustedKeys) || !errors.Is(err, circuits.ErrDevelopmentKeys) {
			t.Errorf("%s: pinned %+v (%v), want ErrUntrustedKeys and ErrDevelopmentKeys", name, ti, err)
		}
	}
	ti, err := p.Pin(ctx, verifier.PinOptions{AllowDevelopmentKeys: true})
	if err != nil || !ti.AllowDevelopmentKeys {
		t.Fatalf("allowed development keys: %+v, %v", ti, err)
	}
	// With an edited circuit id the verifying key no longer matches it.
	relabel(t, iss, "z"+strings.Repeat("2", 44))
	if _, err := verifier.Inspect(ctx, iss.Source()); !errors.Is(err, verifier.ErrIssuer) {
		t.Fatalf("edited circuit id: %v, want ErrIssuer", err)
	}
}

// TestRelabelledDevelopmentKeysAtVerification: a proof made under
// development keys is never accepted by a verifier that does not allow
// them, whatever the manifest says, whether they were pinned by their id
// or the publication is swapped under a pin of another circuit.
func TestRelabelledDevelopmentKeysAtVerification(t *testing.T) {
	for name, c := range map[string]struct {
		id   string // edited circuit id, "" to keep it
		edit func(o *verifier.Options)
		want error
	}{
		"pinned by id, options refuse": {"", func(o *verifier.Options) {
			o.Trust.Issuers[0].AllowDevelopmentKeys = false
			o.AllowDevelopmentKeys = false
		}, verifier.ErrUntrustedKeys},
		"pin refuses, options allow": {"", func(o *verifier.Options) { o.Trust.Issuers[0].AllowDevelopmentKeys = false }, verifier.ErrUntrustedKeys},
		"pin allows, options refuse": {"", func(o *verifier.Options) { o.AllowDevelopmentKeys = false }, verifier.ErrUntrustedKeys},
		"swapped under a ceremony pin": {"", func(o *verifier.Options) {
			o.Trust.Issuers[0].AllowDevelopmentKeys = false
			o.Trust.Issuers[0].CircuitIDs = []string{"z" + strings.Repeat("3", 44)}
		}, verifier.ErrUntrustedKeys},
		"edited circuit id": {"z" + strings.Repeat("2", 44), func(o *verifier.Options) {
			o.Trust.Issuers[0].AllowDevelopmentKeys = false
			o.Trust.Issuers[0].CircuitIDs = []string{"z" + strings.Repeat("2", 44)}
		}, verifier.ErrIssuer},
	} {
		t.Run(name, func(t *testing.T) {
			e := setup(t, nil)
			req := e.request(e.policy)
			p := e.adult.Prove(t, req, e.epoch)
			relabel(t, e.iss, c.id)
			e.reopen(c.edit)
			e.undecided(p, c.want)
			_, err := e.v.NewRequest(e.ctx, e.policy)
			if !errors.Is(err, c.want) || (c.id == "" && !errors.Is(err, circuits.ErrDevelopmentKeys)) {
				t.Fatalf("request: %v, want %v", err, c.want)
			}
		})
	}
	// Allowed by both, the relabelled keys work and the result still says
	// they are development keys: the label changes nothing.
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	relabel(t, e.iss, "")
	e.expire()
	if res := e.verify(p, nil); !res.Valid || !res.DevelopmentKeys {
		t.Fatalf("allowed development keys: %+v", res)
	}
}

// TestKeyChanged: a publication with another issuer key is refused, naming
// the pinned and the published key ids, until the operator pins again.
func TestKeyChanged(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	oldKid := e.iss.Meta.KeyID
	key, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.iss.Key = key
	e.iss.Meta.JWK, e.iss.Meta.KeyID = key.Public(), key.Public().KeyID()
	e.iss.WriteMetadata(t)
	e.iss.Publish(t, e.clk.now())
	e.expire()
	_, err = e.v.NewRequest(e.ctx, e.policy)
	if !errors.Is(err, verifier.ErrTrustChanged) || !strings.Contains(err.Error(), oldKid) ||
		!strings.Contains(err.Error(), e.iss.Meta.KeyID) || !strings.Contains(err.Error(), "issuer key changed") {
		t.Fatalf("changed key: %v, want ErrTrustChanged naming %s and %s", err, oldKid, e.iss.Meta.KeyID)
	}
	e.undecided(p, verifier.ErrTrustChanged)
	// Inspect shows the change the same way; pinned again, it works.
	in, err := verifier.Inspect(e.ctx, e.iss.Source())
	if err != nil {
		t.Fatal(err)
	}
	old := e.opts.Trust
	if err := old.Check(in); !errors.Is(err, verifier.ErrTrustChanged) {
		t.Fatalf("Check: %v", err)
	}
	ti, err := in.Pin(e.ctx, verifier.PinOptions{AllowDevelopmentKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	old.Set(*ti)
	if err := old.Check(in); err != nil {
		t.Fatalf("after pinning again: %v", err)
	}
	e.reopen(func(o *verifier.Options) { o.Trust = old })
	e.request(e.policy)
}

// TestCircuitChanged: a publication with other circuit keys is refused,
// naming both circuit ids.
func TestCircuitChanged(t *testing.T) {
	e := setup(t, nil)
	other := verifiertest.DevelopmentKeys(t, testDepth+2)
	if err := other.Save(filepath.Join(e.iss.Dir, "public", "circuit")); err != nil {
		t.Fatal(err)
	}
	e.iss.Meta.CircuitID, e.iss.Meta.Depth = other.Manifest.CircuitID, other.Manifest.Depth
	e.iss.WriteMetadata(t)
	_, err := e.v.NewRequest(e.ctx, e.policy)
	if !errors.Is(err, verifier.ErrTrustChanged) || !strings.Contains(err.Error(), e.iss.Keys.Manifest.CircuitID) ||
		!strings.Contains(err.Error(), other.Manifest.CircuitID) || !strings.Contains(err.Error(), "circuit changed") {
		t.Fatalf("changed circuit: %v, want ErrTrustChanged naming both ids", err)
	}
}

// TestRootRollback: once epoch E was verified, a latest root of an older
// epoch is refused, also after the verifier is reopened; the request
// survives and verifies once the publication is current again.
func TestRootRollback(t *testing.T) {
	e := setup(t, nil)
	old := e.iss.ReadFile(t, publication.LatestRootName)
	e.clk.add(time.Minute)
	e.iss.Revoke(t, e.minor.Serial)
	next := e.iss.Publish(t, e.clk.now())
	current := e.iss.ReadFile(t, publication.LatestRootName)
	e.expire()
	req := e.request(e.policy)
	if req.Epochs[0] != next.Epoch {
		t.Fatalf("epochs %v", req.Epochs)
	}
	p := e.adult.Prove(t, req, next.Epoch)

	e.iss.WriteFile(t, publication.LatestRootName, old)
	e.expire()
	if _, err := e.v.NewRequest(e.ctx, e.policy); !errors.Is(err, verifier.ErrRolledBack) {
		t.Fatalf("request on a rolled back root: %v", err)
	}
	e.undecided(p, verifier.ErrRolledBack)
	if _, err := e.v.Ready(e.ctx); !errors.Is(err, verifier.ErrRolledBack) {
		t.Fatalf("ready on a rolled back root: %v", err)
	}
	e.reopen(nil)
	if _, err := e.v.NewRequest(e.ctx, e.policy); !errors.Is(err, verifier.ErrRolledBack) {
		t.Fatalf("after reopening: %v", err)
	}
	e.undecided(p, verifier.ErrRolledBack)

	e.iss.WriteFile(t, publication.LatestRootName, current)
	e.expire()
	if res := e.verify(p, nil); !res.Valid {
		t.Fatalf("with the current root again: %v", res.Reasons)
	}
}

// TestStatusListRollback: a status list issued before one already verified
// is refused, also after reopening; revoked credentials do not come back.
func TestStatusListRollback(t *testing.T) {
	e := setup(t, nil)
	sdPolicy := verifier.Policy{Scope: "platform-a", AgeOver: intp(18), SDJWTClaims: []string{"age_over_18"}}
	old := e.iss.ReadFile(t, publication.StatusListName)
	e.clk.add(time.Minute)
	e.iss.Revoke(t, e.adult.Serial)
	e.iss.Publish(t, e.clk.now())
	e.expire()
	req := e.request(sdPolicy)
	wantReason(t, e.verify(e.adult.Present(t, req, nil, "", "", true, e.clk.now()), nil), verifier.ReasonRevoked)

	e.iss.WriteFile(t, publication.StatusListName, old)
	e.expire()
	req = e.request(sdPolicy)
	p := e.adult.Present(t, req, nil, "", "", true, e.clk.now())
	e.undecided(p, verifier.ErrRolledBack)
	e.reopen(nil)
	e.undecided(p, verifier.ErrRolledBack)
}

// TestRetryAfterUnreachable: while the publication is unreachable Verify
// cannot decide and leaves the request alone; the same presentation then
// verifies, once.
func TestRetryAfterUnreachable(t *testing.T) {
	e := setup(t, nil)
	zreq := e.request(e.policy)
	zp := e.adult.Prove(t, zreq, e.epoch)
	sreq := e.request(verifier.Policy{Scope: "platform-a", AgeOver: intp(18), SDJWTClaims: []string{"age_over_18"}})
	sp := e.adult.Present(t, sreq, nil, "", "", true, base)
	e.expire()
	e.src.SetDown(true)
	e.undecided(zp, verifiertest.ErrDown)
	e.undecided(sp, verifiertest.ErrDown)
	if _, err := e.v.Ready(e.ctx); !errors.Is(err, verifiertest.ErrDown) {
		t.Fatalf("ready while down: %v", err)
	}
	e.src.SetDown(false)
	for _, p := range []*verifier.Presentation{zp, sp} {
		if res := e.verify(p, nil); !res.Valid {
			t.Fatalf("retry: %v", res.Reasons)
		}
		wantReason(t, e.verify(p, nil), verifier.ReasonUnknownNonce)
	}
}

// TestRetryConcurrent: after an undecided round, many concurrent retries
// of one presentation give exactly one verdict.
func TestRetryConcurrent(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	doc := verifiertest.JSON(t, e.adult.Prove(t, req, e.epoch))
	e.expire()
	e.src.SetDown(true)
	const n = 8
	var wg sync.WaitGroup
	run := func(results chan<- *verifier.Result, errs chan<- error) {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := e.v.Verify(e.ctx, doc, nil)
				if err != nil {
					errs <- err
					return
				}
				results <- res
			}()
		}
		wg.Wait()
		close(results)
		close(errs)
	}
	results, errs := make(chan *verifier.Result, n), make(chan error, n)
	run(results, errs)
	if len(results) != 0 || len(errs) != n {
		t.Fatalf("while down: %d results, %d errors", len(results), len(errs))
	}
	e.src.SetDown(false)
	results, errs = make(chan *verifier.Result, n), make(chan error, n)
	run(results, errs)
	valid := 0
	for res := range results {
		if res.Valid {
			valid++
		} else if res.Reasons[0] != verifier.ReasonUnknownNonce {
			t.Errorf("reason %v", res.Reasons)
		}
	}
	for err := range errs {
		t.Error(err)
	}
	if valid != 1 {
		t.Fatalf("%d valid verdicts, want 1", valid)
	}
}

func TestReady(t *testing.T) {
	e := setup(t, func(o *verifier.Options) { o.MaxRootAge = 48 * time.Hour })
	r, err := e.v.Ready(e.ctx)
	if err != nil || r.Issuer != verifiertest.IssuerID || r.Epoch != e.epoch || !r.RootIssuedAt.Equal(base) ||
		!r.StatusListExpires.After(base) {
		t.Fatalf("ready: %+v, %v", r, err)
	}
	e.clk.add(25 * time.Hour) // past the status list's lifetime, within MaxRootAge
	if _, err := e.v.Ready(e.ctx); !errors.Is(err, verifier.ErrStatusListExpired) {
		t.Fatalf("expired status list: %v", err)
	}
	e.clk.add(24 * time.Hour)
	if _, err := e.v.Ready(e.ctx); !errors.Is(err, verifier.ErrStaleRoot) {
		t.Fatalf("stale root: %v", err)
	}

	f := setup(t, nil)
	f.clk.add(verifier.DefaultMaxRootAge + time.Second)
	if _, err := f.v.Ready(f.ctx); !errors.Is(err, verifier.ErrStaleRoot) {
		t.Fatalf("stale root at the default age: %v", err)
	}
	g := setup(t, func(o *verifier.Options) {
		o.Trust.Issuers[0].Keys[0] = verifiertest.NewIssuer(t, testDepth, base).Key.Public()
	})
	if _, err := g.v.Ready(g.ctx); !errors.Is(err, verifier.ErrTrustChanged) {
		t.Fatalf("untrusted key: %v", err)
	}
}

func TestDefaultMaxRootAge(t *testing.T) {
	if verifier.DefaultMaxRootAge != 3*publication.DefaultEpochInterval {
		t.Fatalf("DefaultMaxRootAge %v", verifier.DefaultMaxRootAge)
	}
}

var (
	ceremonyMu    sync.Mutex
	ceremonyCache = map[string]ceremonyResult{}
)

type ceremonyResult struct {
	keys       *circuits.Keys
	transcript []byte
}

// runCeremony runs a small ceremony (one contribution per phase) at
// testDepth, once per test binary and name, and returns its keys and
// transcript.
func runCeremony(t *testing.T, name string) (*circuits.Keys, []byte) {
	t.Helper()
	ceremonyMu.Lock()
	defer ceremonyMu.Unlock()
	if r, ok := ceremonyCache[name]; ok {
		return r.keys, r.transcript
	}
	dir, out := t.TempDir(), t.TempDir()
	if err := ceremony.Init(dir, testDepth, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ceremony.Contribute(dir, nil); err != nil {
		t.Fatal(err)
	}
	if err := ceremony.Next(dir, []byte(name+" beacon 1"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ceremony.Contribute(dir, nil); err != nil {
		t.Fatal(err)
	}
	keys, err := ceremony.Finalize(dir, []byte(name+" beacon 2"), out, nil)
	if err != nil {
		t.Fatal(err)
	}
	transcript, err := os.ReadFile(filepath.Join(out, ceremony.TranscriptFile))
	if err != nil {
		t.Fatal(err)
	}
	ceremonyCache[name] = ceremonyResult{keys, transcript}
	return keys, transcript
}

// TestPinCeremonyTranscript: ceremony keys are pinned on their transcript
// when it verifies and yields the published circuit, and then work without
// development keys allowed anywhere.
func TestPinCeremonyTranscript(t *testing.T) {
	keys, transcript := runCeremony(t, "a")
	iss := verifiertest.NewIssuerWithKeys(t, keys, base)
	iss.WriteFile(t, publication.TranscriptName, transcript)
	adult := iss.Issue(t, verifiertest.Adult(schemas.Date{Year: 2000, Month: time.January, Day: 1}), base)
	epoch := iss.Publish(t, base).Epoch
	ctx := context.Background()
	in, err := verifier.Inspect(ctx, iss.Source())
	if err != nil {
		t.Fatal(err)
	}
	if in.DevelopmentKeys || !in.Transcript || in.CircuitID != keys.Manifest.CircuitID {
		t.Fatalf("inspection %+v", in)
	}
	var steps []string
	ti, err := in.Pin(ctx, verifier.PinOptions{Progress: func(s string) { steps = append(steps, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if ti.AllowDevelopmentKeys || !strings.Contains(ti.CircuitBasis, "ceremony transcript verified") || len(steps) == 0 {
		t.Fatalf("pin %+v, progress %v", ti, steps)
	}
	v, err := verifier.New(verifier.Options{Dir: t.TempDir(), Source: iss.Source(), Trust: verifier.NewTrust(*ti),
		Now: func() time.Time { return base }})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	req, err := v.NewRequest(ctx, verifier.Policy{Scope: "platform-a", AgeOver: intp(18)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(ctx, verifiertest.JSON(t, adult.Prove(t, req, epoch)), req)
	if err != nil || !res.Valid || res.DevelopmentKeys {
		t.Fatalf("ceremony keys: %+v, %v", res, err)
	}
}

// TestPinCeremonyRefused: a tampered transcript, another ceremony's
// transcript, or none at all, do not pin the circuit; an expected circuit
// id given out of band does.
func TestPinCeremonyRefused(t *testing.T) {
	keys, transcript := runCeremony(t, "a")
	_, otherTranscript := runCeremony(t, "b")
	iss := verifiertest.NewIssuerWithKeys(t, keys, base)
	ctx := context.Background()
	tampered := append([]byte(nil), transcript...)
	tampered[len(tampered)/2] ^= 1
	for name, data := range map[string][]byte{"tampered": tampered, "another ceremony's": otherTranscript, "empty": {}} {
		iss.WriteFile(t, publication.TranscriptName, data)
		in, err := verifier.Inspect(ctx, iss.Source())
		if err != nil {
			t.Fatal(err)
		}
		if ti, err := in.Pin(ctx, verifier.PinOptions{}); !errors.Is(err, verifier.ErrUntrustedKeys) {
			t.Errorf("%s transcript: pinned %+v (%v)", name, ti, err)
		}
	}
	if err := os.Remove(filepath.Join(iss.Dir, "public", filepath.FromSlash(publication.TranscriptName))); err != nil {
		t.Fatal(err)
	}
	in, err := verifier.Inspect(ctx, iss.Source())
	if err != nil {
		t.Fatal(err)
	}
	if in.Transcript {
		t.Fatal("a transcript reported where none is published")
	}
	_, err = in.Pin(ctx, verifier.PinOptions{})
	if !errors.Is(err, verifier.ErrUntrustedKeys) || !strings.Contains(err.Error(), "--circuit-id") {
		t.Fatalf("no transcript: %v, want ErrUntrustedKeys naming --circuit-id", err)
	}
	if ti, err := in.Pin(ctx, verifier.PinOptions{CircuitID: keys.Manifest.CircuitID}); err != nil || ti.AllowDevelopmentKeys {
		t.Fatalf("expected circuit id: %+v, %v", ti, err)
	}
	if _, err := in.Pin(ctx, verifier.PinOptions{CircuitID: "z" + strings.Repeat("4", 44)}); !errors.Is(err, verifier.ErrUntrustedKeys) {
		t.Fatalf("another expected circuit id: %v", err)
	}
}

// TestRetryAfterRootWithheld: a mirror or CDN that withholds (404) or
// garbles the root of an epoch the request accepts is the publication
// failing, not the presentation: those roots were published, since the
// accepted epochs came from a verified latest root. Verify must not decide
// (and consume the request) on it, or a mirror could burn every request;
// once the root is served again, the same presentation verifies, once.
func TestRetryAfterRootWithheld(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"withheld", nil},
		{"garbled", []byte("not a root statement")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, nil)
			req := e.request(e.policy)
			p := e.adult.Prove(t, req, e.epoch)
			name := publication.RootName(e.epoch)
			good := e.iss.ReadFile(t, name)
			path := filepath.Join(e.iss.Dir, "public", filepath.FromSlash(name))
			if tc.data == nil {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			} else {
				e.iss.WriteFile(t, name, tc.data)
			}
			e.expire()
			if res, err := e.v.Verify(e.ctx, verifiertest.JSON(t, p), nil); err == nil {
				t.Fatalf("root %s %s: decided %+v, want an error (cannot decide)", tc.name, name, res)
			}
			e.iss.WriteFile(t, name, good)
			e.expire()
			if res := e.verify(p, nil); !res.Valid {
				t.Fatalf("retry with the root served again: %v", res.Reasons)
			}
			wantReason(t, e.verify(p, nil), verifier.ReasonUnknownNonce)
		})
	}
}

// TestDisguisedDevelopmentKeysPinnedByID: the development verifying key
// with one byte appended decodes to the same key but hashes to an id
// outside the development table. An operator talked into pinning that id
// (and allowing nothing) must still never accept a proof forged under the
// development keys: the publication is refused.
func TestDisguisedDevelopmentKeysPinnedByID(t *testing.T) {
	e := setup(t, nil)
	req := e.request(e.policy)
	p := e.adult.Prove(t, req, e.epoch)
	disguised := append(e.iss.ReadFile(t, publication.VerifyingKeyName), 0)
	d := sm3.Sum(disguised)
	id, err := multibase.Encode(multibase.Base58BTC, d[:])
	if err != nil {
		t.Fatal(err)
	}
	if circuits.IsDevelopmentCircuit(id) {
		t.Fatal("the disguise kept the development id")
	}
	e.iss.WriteFile(t, publication.VerifyingKeyName, disguised)
	relabel(t, e.iss, id)
	if _, err := verifier.Inspect(e.ctx, e.iss.Source()); !errors.Is(err, verifier.ErrIssuer) || !errors.Is(err, circuits.ErrKeysMismatch) {
		t.Fatalf("inspecting disguised development keys: %v, want ErrIssuer and ErrKeysMismatch", err)
	}
	e.expire()
	e.reopen(func(o *verifier.Options) {
		o.AllowDevelopmentKeys = false
		o.Trust.Issuers[0].AllowDevelopmentKeys = false
		o.Trust.Issuers[0].CircuitIDs = []string{id}
	})
	e.undecided(p, verifier.ErrIssuer)
}

// TestRollbackAcrossKeyRotation: the epoch is the issuer's accumulator's,
// not its signing key's. After a rotation (both keys pinned) and a root of
// the new key verified, a mirror serving the old issuer.json with the old
// key's older, still fresh latest root and status list must be refused:
// they would bring back what the issuer revoked since.
func TestRollbackAcrossKeyRotation(t *testing.T) {
	e := setup(t, nil)
	oldKey := e.iss.Key
	names := []string{publication.IssuerName, publication.LatestRootName, publication.StatusListName}
	old := map[string][]byte{}
	for _, n := range names {
		old[n] = e.iss.ReadFile(t, n)
	}
	newKey, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.iss.Key = newKey
	e.iss.Meta.JWK, e.iss.Meta.KeyID = newKey.Public(), newKey.Public().KeyID()
	e.iss.WriteMetadata(t)
	e.clk.add(time.Minute)
	e.iss.Revoke(t, e.adult.Serial)
	next := e.iss.Publish(t, e.clk.now())
	e.reopen(func(o *verifier.Options) {
		o.Trust.Issuers[0].Keys = []*jose.PublicKey{oldKey.Public(), newKey.Public()}
	})
	if r, err := e.v.Ready(e.ctx); err != nil || r.Epoch != next.Epoch {
		t.Fatalf("after the rotation: %+v, %v", r, err)
	}
	for _, n := range names {
		e.iss.WriteFile(t, n, old[n])
	}
	e.expire()
	if r, err := e.v.Ready(e.ctx); !errors.Is(err, verifier.ErrRolledBack) {
		t.Fatalf("the old key's older publication: %+v, %v; want ErrRolledBack", r, err)
	}
}
