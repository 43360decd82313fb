package holder

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// importBatch issues n pending bundles to w (at most maxPending at a time,
// the requests the wallet remembers) and imports each batch with one write.
func importBatch(t *testing.T, iss *fakeIssuer, w *Wallet, n int) {
	t.Helper()
	ctx := context.Background()
	for n > 0 {
		k := min(n, maxPending)
		bundles := make([]*Bundle, 0, k)
		for range k {
			w.mu.Lock()
			req, err := w.requestLocked()
			w.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			bundles = append(bundles, iss.issue(adult, req, issueOpts{pending: true}))
		}
		if _, err := w.ImportAll(ctx, bundles, iss.source()); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
}

// TestWalletHoldsAThousandCredentials: a wallet of 1,000 credentials (far
// beyond the protocol's 1 MiB document limit) opens, refreshes every
// credential and proves. The times are logged, not asserted (the machine
// running the tests may be shared).
func TestWalletHoldsAThousandCredentials(t *testing.T) {
	const n = 1000
	iss := newIssuer(t)
	iss.publishCircuit()
	w := newWallet(t)
	dir := w.Dir()
	start := time.Now()
	importBatch(t, iss, w, n)
	t.Logf("issued and imported %d credentials in %v", n, time.Since(start).Round(time.Millisecond))
	e := iss.publish()
	w.Close()
	fi, err := os.Stat(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() <= MaxDocumentBytes {
		t.Fatalf("the state of %d credentials is %d bytes: the test does not cross the document limit", n, fi.Size())
	}

	start = time.Now()
	w, err = Open(dir, testPassphrase, Options{Now: testClock})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	t.Logf("open: %v (state %d bytes)", time.Since(start).Round(time.Millisecond), fi.Size())
	if got := len(w.Credentials()); got != n {
		t.Fatalf("%d credentials after open, want %d", got, n)
	}
	ctx := context.Background()
	start = time.Now()
	reps, err := w.Refresh(ctx, iss.source())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("refresh of %d credentials across one epoch: %v", n, time.Since(start).Round(time.Millisecond))
	if len(reps) != n {
		t.Fatalf("%d refresh reports, want %d", len(reps), n)
	}
	for _, r := range reps {
		if r.Pending || r.ToEpoch != e.Epoch {
			t.Fatalf("refresh left %+v", r)
		}
	}
	r := zkRequestFor(t, "platform-a", intp(18), e.Epoch)
	start = time.Now()
	p, err := w.prove(ctx, r, iss.source(), ProveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("prove (including the circuit keys' first load): %v", time.Since(start).Round(time.Millisecond))
	verifyZK(t, iss, r, p)
}

// TestImportOverTheStateLimitLosesNothing: an import that would make the
// state larger than its limit is refused with ErrWalletFull before
// anything is written; the wallet, in memory and on disk, is as before.
func TestImportOverTheStateLimitLosesNothing(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	importBatch(t, iss, w, 2)
	b := iss.issue(adult, mustRequest(t, w), issueOpts{})
	before, err := os.ReadFile(filepath.Join(w.Dir(), stateFile))
	if err != nil {
		t.Fatal(err)
	}
	defer func(old int) { stateLimit = old }(stateLimit)
	stateLimit = len(before) + 1000 // room for less than one more credential
	_, err = w.Import(context.Background(), b, iss.source())
	if !errors.Is(err, ErrWalletFull) {
		t.Fatalf("import over the limit: %v, want ErrWalletFull", err)
	}
	if got := len(w.Credentials()); got != 2 {
		t.Fatalf("%d credentials in memory after the refused import, want 2", got)
	}
	w.Close()
	w2, err := Open(w.Dir(), testPassphrase, Options{Now: testClock})
	if err != nil {
		t.Fatalf("the wallet no longer opens after a refused import: %v", err)
	}
	defer w2.Close()
	if got := len(w2.Credentials()); got != 2 {
		t.Fatalf("%d credentials on disk after the refused import, want 2", got)
	}
	// Within the limit, the same bundle imports: the refusal was the size.
	stateLimit = MaxStateBytes
	if _, err := w2.Import(context.Background(), b, iss.source()); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefusesAStateOverTheLimit: Open reads at most the state limit.
func TestOpenRefusesAStateOverTheLimit(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	importBatch(t, iss, w, 1)
	w.Close()
	defer func(old int) { stateLimit = old }(stateLimit)
	stateLimit = 1000
	if w2, err := Open(w.Dir(), testPassphrase, Options{Now: testClock}); err == nil {
		w2.Close()
		t.Fatal("a state over the limit opened")
	}
}

// The sample wallet: a wallet of StateVersion with two credentials, sealed
// under testPassphrase, and the public files of its issuer (without the
// circuit keys, which are the development keys of the shared cache). A
// change of the state format that old wallets cannot read fails
// TestSampleWalletOpensAndProves. Regenerate it (only for a deliberate
// format change, with a migration) with
//
//	go test ./holder -run TestSampleWalletOpensAndProves -update-sample
var updateSample = flag.Bool("update-sample", false, "rewrite holder/testdata/sample-wallet")

const sampleDir = "testdata/sample-wallet"

func writeSample(t *testing.T) {
	iss := newIssuer(t)
	iss.publishCircuit()
	w := newWallet(t)
	enrol(t, iss, w, teen)
	enrol(t, iss, w, adult) // the latest: Prove uses it
	iss.publish()
	if _, err := w.Refresh(context.Background(), iss.source()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := os.RemoveAll(sampleDir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{keyFile, stateFile} {
		copyFile(t, filepath.Join(w.Dir(), f), filepath.Join(sampleDir, "wallet", f))
	}
	pub := filepath.Join(iss.dir, "public")
	err := filepath.WalkDir(pub, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(filepath.Dir(path)) == "circuit" {
			return err
		}
		rel, _ := filepath.Rel(pub, path)
		copyFile(t, path, filepath.Join(sampleDir, "public", rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSampleWalletOpensAndProves opens the saved sample wallet (a copy:
// proving writes) and proves from it against its saved issuer.
func TestSampleWalletOpensAndProves(t *testing.T) {
	if *updateSample {
		writeSample(t)
	}
	tmp := t.TempDir()
	if err := os.CopyFS(tmp, os.DirFS(sampleDir)); err != nil {
		t.Fatal(err)
	}
	// The circuit keys come from the shared cache, as publishCircuit does.
	keys, err := devKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"manifest.json", "verifying.key", "proving.key"} {
		copyFile(t, filepath.Join(keys, f), filepath.Join(tmp, "public", "circuit", f))
	}
	w, err := Open(filepath.Join(tmp, "wallet"), testPassphrase, Options{Now: testClock})
	if err != nil {
		t.Fatalf("the sample wallet does not open: %v", err)
	}
	defer w.Close()
	if w.st.Version != StateVersion || len(w.Credentials()) != 2 {
		t.Fatalf("sample wallet: state version %d, %d credentials", w.st.Version, len(w.Credentials()))
	}
	src := publication.DirSource(tmp)
	latestJWS, err := os.ReadFile(filepath.Join(tmp, "public", filepath.FromSlash(publication.LatestRootName)))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(tmp, "public", publication.IssuerName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := publication.ParseMetadata(meta)
	if err != nil {
		t.Fatal(err)
	}
	key := m.JWK
	rs, err := revocation.VerifyRootStatement(string(latestJWS), key)
	if err != nil {
		t.Fatal(err)
	}
	r := zkRequestFor(t, "platform-a", intp(18), rs.Epoch)
	p, err := w.prove(context.Background(), r, src, ProveOptions{})
	if err != nil {
		t.Fatalf("the sample wallet does not prove: %v", err)
	}
	verifyZKUnder(t, string(latestJWS), key, r, p)
}
