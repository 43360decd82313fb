package holder

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/publication"
)

// issuePending issues a pending bundle to w (no epoch is published).
func issuePending(t *testing.T, iss *fakeIssuer, w *Wallet, s subject) *Bundle {
	t.Helper()
	return iss.issue(s, mustRequest(t, w), issueOpts{pending: true})
}

// TestPendingBundleRefreshesThenProves: a pending bundle is imported as
// pending, refused by Prove with ErrPending, left pending by a refresh
// before its epoch, and completed by the epoch's delta (its path was taken
// mid-epoch: later appends and a revocation in the same epoch changed its
// siblings) into a path under the signed root that proves.
func TestPendingBundleRefreshesThenProves(t *testing.T) {
	iss := newIssuer(t)
	iss.publishCircuit()
	ctx := context.Background()
	w := newWallet(t)
	b := issuePending(t, iss, w, adult)
	info, err := w.Import(ctx, b, iss.source())
	if err != nil {
		t.Fatalf("import of a pending bundle: %v", err)
	}
	if !info.Pending || info.Epoch != b.Path.Epoch {
		t.Fatalf("imported %+v, want pending in epoch %d", info, b.Path.Epoch)
	}
	// The same epoch goes on: more issuances, and a revocation of one of
	// them, after this bundle's path was taken.
	other := issuePending(t, iss, newWallet(t), teen)
	issuePending(t, iss, newWallet(t), child)
	if err := iss.store.Revoke(other.Serial); err != nil {
		t.Fatal(err)
	}

	r := zkRequestFor(t, "platform-a", intp(18), b.Path.Epoch-1, b.Path.Epoch)
	if _, err := w.prove(ctx, r, iss.source(), ProveOptions{}); !errors.Is(err, ErrPending) {
		t.Fatalf("prove with a pending credential: %v, want ErrPending", err)
	}
	reps, err := w.Refresh(ctx, iss.source())
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || !reps[0].Pending || reps[0].ToEpoch != reps[0].FromEpoch {
		t.Fatalf("refresh before the epoch: %+v", reps)
	}

	e := iss.publish()
	if e.Epoch != b.Path.Epoch || e.LeafCount != b.Serial+3 {
		t.Fatalf("epoch %d with %d leaves; want epoch %d holding the batch of 3", e.Epoch, e.LeafCount, b.Path.Epoch)
	}
	reps, err = w.Refresh(ctx, iss.source())
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || reps[0].Pending || reps[0].Revoked || reps[0].UsedBucket || reps[0].Deltas != 1 || reps[0].ToEpoch != e.Epoch {
		t.Fatalf("refresh after the epoch: %+v", reps)
	}
	wantStorePath(t, iss, w)
	if c := w.Credentials(); c[0].Pending || c[0].Epoch != e.Epoch {
		t.Fatalf("credential after refresh %+v", c[0])
	}
	p, err := w.prove(ctx, r, iss.source(), ProveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *p.Epoch != e.Epoch {
		t.Fatalf("proved under epoch %d, want %d", *p.Epoch, e.Epoch)
	}
	verifyZK(t, iss, r, p)
}

// TestProveCompletesAPendingCredential: once the epoch is published, Prove
// itself completes the pending path (the deltas every holder reads) rather
// than refusing.
func TestProveCompletesAPendingCredential(t *testing.T) {
	iss := newIssuer(t)
	iss.publishCircuit()
	ctx := context.Background()
	w := newWallet(t)
	b := issuePending(t, iss, w, adult)
	if _, err := w.Import(ctx, b, iss.source()); err != nil {
		t.Fatal(err)
	}
	e := iss.publish()
	r := zkRequestFor(t, "platform-a", intp(18), e.Epoch)
	p, err := w.prove(ctx, r, iss.source(), ProveOptions{})
	if err != nil {
		t.Fatalf("prove after the epoch: %v", err)
	}
	verifyZK(t, iss, r, p)
	// Without a source there is nothing to complete it from.
	w2 := newWallet(t)
	if _, err := w2.Import(ctx, issuePending(t, iss, w2, adult), iss.source()); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.prove(ctx, r, nil, ProveOptions{}); !errors.Is(err, ErrPending) {
		t.Fatalf("prove without a source: %v, want ErrPending", err)
	}
}

// TestPendingCredentialPresentsSDJWT: the SD-JWT copies of a pending
// credential are usable at once (the status list covers the serial).
func TestPendingCredentialPresentsSDJWT(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	if _, err := w.Import(context.Background(), issuePending(t, iss, w, adult), iss.source()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.present(sdRequestFor(t, "platform-a", "age_over_18")); err != nil {
		t.Fatalf("present from a pending credential: %v", err)
	}
}

func TestPendingImportRejects(t *testing.T) {
	ctx := context.Background()
	for what, tc := range map[string]struct {
		alter func(iss *fakeIssuer, b *Bundle)
		want  string
	}{
		"altered sibling": {func(_ *fakeIssuer, b *Bundle) {
			b.Path.Siblings[5] = zkFormat(zkhash.Tag("not a sibling"))
		}, "does not lead from the leaf to the bundle's root"},
		"altered root": {func(_ *fakeIssuer, b *Bundle) {
			b.Path.Root = zkFormat(zkhash.Tag("not the root"))
		}, "does not lead from the leaf to the bundle's root"},
		"root statement on a pending bundle": {func(iss *fakeIssuer, b *Bundle) {
			e, err := iss.store.Statement(1)
			if err != nil {
				iss.t.Fatal(err)
			}
			b.RootStatement = e.Statement
		}, "carries a root statement"},
		"neither pending nor signed": {func(_ *fakeIssuer, b *Bundle) {
			b.Pending = false
		}, "not marked pending"},
		"epoch beyond the next": {func(_ *fakeIssuer, b *Bundle) {
			b.Path.Epoch++
		}, "only epoch"},
		"epoch 0": {func(_ *fakeIssuer, b *Bundle) {
			b.Path.Epoch = 0
		}, "epoch 0"},
		"serial already signed": {func(iss *fakeIssuer, b *Bundle) {
			// The epoch is published, the bundle claims the next one.
			e := iss.publish()
			b.Path.Epoch = e.Epoch + 1
		}, "already counts"},
	} {
		t.Run(what, func(t *testing.T) {
			iss := newIssuer(t)
			w := newWallet(t)
			b := issuePending(t, iss, w, adult)
			tc.alter(iss, b)
			_, err := w.Import(ctx, b, iss.source())
			wantIs(t, err, ErrBundle)
			wantErr(t, err, tc.want)
			if len(w.Credentials()) != 0 {
				t.Fatal("a refused bundle was stored")
			}
		})
	}
}

// TestPendingRefreshRefusesRollback: a latest root older than the epoch the
// pending credential was issued after is refused, not waited on.
func TestPendingRefreshRefusesRollback(t *testing.T) {
	iss := newIssuer(t)
	iss.publish()
	ctx := context.Background()
	w := newWallet(t)
	b := issuePending(t, iss, w, adult)
	if _, err := w.Import(ctx, b, iss.source()); err != nil {
		t.Fatal(err)
	}
	old, err := iss.store.Statement(b.Path.Epoch - 2)
	if err != nil {
		t.Fatal(err)
	}
	iss.write(publication.LatestRootName, []byte(old.Statement))
	_, err = w.Refresh(ctx, iss.source())
	wantErr(t, err, "older than the epoch")
}

// TestPendingRefreshFallsBackToABucket: with the epoch's delta missing, the
// pending credential is completed from the bucket of the signed root.
func TestPendingRefreshFallsBackToABucket(t *testing.T) {
	iss := newIssuer(t)
	ctx := context.Background()
	w := newWallet(t)
	b := issuePending(t, iss, w, adult)
	if _, err := w.Import(ctx, b, iss.source()); err != nil {
		t.Fatal(err)
	}
	e := iss.publish()
	if err := os.Remove(iss.public(publication.DeltaName(e.Epoch))); err != nil {
		t.Fatal(err)
	}
	src := &bucketSource{iss: iss}
	reps, err := w.Refresh(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || !reps[0].UsedBucket || reps[0].Pending || src.buckets != 1 {
		t.Fatalf("report %+v, %d buckets", reps, src.buckets)
	}
	wantStorePath(t, iss, w)
}

// TestPendingImportAfterItsEpoch: a pending bundle imported after the
// issuer published its epoch (and one more) is accepted and completed by
// the next refresh from both deltas.
func TestPendingImportAfterItsEpoch(t *testing.T) {
	iss := newIssuer(t)
	ctx := context.Background()
	w := newWallet(t)
	b := issuePending(t, iss, w, adult)
	iss.publish()
	issuePending(t, iss, newWallet(t), teen)
	latest := iss.publish()
	if _, err := w.Import(ctx, b, iss.source()); err != nil {
		t.Fatalf("import after the epoch: %v", err)
	}
	reps, err := w.Refresh(ctx, iss.source())
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || reps[0].Pending || reps[0].Deltas != 2 || reps[0].ToEpoch != latest.Epoch {
		t.Fatalf("report %+v", reps)
	}
	wantStorePath(t, iss, w)
}
