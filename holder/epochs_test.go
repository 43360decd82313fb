package holder

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// TestVaryingEpochsLearnsNothing: a verifier that varies a request's epochs
// (1…k, or only k, for every k) learns nothing about the wallet: two wallets
// with different refresh histories (one imported and never refreshed, one
// refreshed midway) give the same answer to every request, always under the
// issuer's latest epoch or the grace epoch before it, or refuse with
// ErrEpochs. Answering under the import path would name the holder's serial
// (the root statement's leaf count).
func TestVaryingEpochsLearnsNothing(t *testing.T) {
	iss := newIssuer(t)
	wa, wb := newWallet(t), newWallet(t)
	enrol(t, iss, wa, adult)
	enrol(t, iss, wb, teen)
	iss.publish()
	ctx := context.Background()
	for _, w := range []*Wallet{wa, wb} {
		if _, err := w.Refresh(ctx, iss.source()); err != nil {
			t.Fatal(err)
		}
	}
	importEpoch := wa.Credentials()[0].Epoch
	var latest uint64
	for i := range 6 {
		var l fr.Element
		l.SetRandom()
		if _, err := iss.store.Append(l); err != nil {
			t.Fatal(err)
		}
		latest = iss.publish().Epoch
		if i == 2 {
			if _, err := wa.Refresh(ctx, iss.source()); err != nil {
				t.Fatal(err)
			}
		}
	}
	outcome := func(w *Wallet, epochs []uint64) string {
		r := zkRequestFor(t, "platform-a", intp(18), epochs...)
		w.mu.Lock()
		defer w.mu.Unlock()
		cred, err := w.credentialFor(r.Issuer, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.refreshFor(ctx, iss.source(), cred, func(string) {}); err != nil {
			t.Fatal(err)
		}
		if p := pathFor(cred, r); p != nil {
			return fmt.Sprint(p.Epoch)
		}
		return "refused"
	}
	for k := uint64(1); k <= latest+1; k++ {
		var upTo []uint64
		for e := uint64(1); e <= k; e++ {
			upTo = append(upTo, e)
		}
		for _, epochs := range [][]uint64{upTo, {k}} {
			a, b := outcome(wa, epochs), outcome(wb, epochs)
			if a != b {
				t.Fatalf("epochs %v: the wallets answer %s and %s: the answer tells them apart", epochs, a, b)
			}
			if a != "refused" && a != fmt.Sprint(latest) && a != fmt.Sprint(latest-1) {
				t.Fatalf("epochs %v: answered under epoch %s, the latest is %d", epochs, a, latest)
			}
		}
	}
	// Prove itself refuses a request for the import epoch, before proving.
	_, err := wa.prove(ctx, zkRequestFor(t, "platform-a", intp(18), importEpoch), iss.source(), ProveOptions{})
	if !errors.Is(err, ErrEpochs) {
		t.Fatalf("a request for the import epoch %d: %v", importEpoch, err)
	}
	// Each wallet keeps only the latest and the grace paths.
	for _, w := range []*Wallet{wa, wb} {
		for _, p := range w.st.Credentials[0].Paths {
			if p.Epoch+1 < latest {
				t.Fatalf("the wallet keeps a path of epoch %d (latest %d)", p.Epoch, latest)
			}
		}
	}
}
