package holder

import (
	"context"
	"testing"
)

// BenchmarkProve measures a whole zero-knowledge answer at depth 32: request
// checks, the native pre-check, and the Groth16 proof (keys cached in the
// wallet after the first call).
func BenchmarkProve(b *testing.B) {
	iss := newIssuer(b)
	iss.publishCircuit()
	w := newWallet(b)
	bundle := enrol(b, iss, w, adult)
	ctx := context.Background()
	if _, err := w.prove(ctx, zkRequestFor(b, "platform-a", intp(18), bundle.Path.Epoch), iss.source(), ProveOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := w.prove(ctx, zkRequestFor(b, "platform-a", intp(18), bundle.Path.Epoch), iss.source(), ProveOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefreshOneEpoch measures a refresh over one epoch in which 100
// other credentials were revoked: fetch and verify the latest root, decode
// the delta, update the path, seal and write the wallet.
func BenchmarkRefreshOneEpoch(b *testing.B) {
	iss := newIssuer(b)
	w := newWallet(b)
	enrol(b, iss, w, adult)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		leaves := make([]frElement, 200)
		for i := range leaves {
			leaves[i].SetUint64(uint64(i) + 1)
		}
		first, err := iss.store.Append(leaves...)
		if err != nil {
			b.Fatal(err)
		}
		revoke := make([]uint64, 0, 100)
		for i := range uint64(100) {
			revoke = append(revoke, first+2*i)
		}
		if err := iss.store.Revoke(revoke...); err != nil {
			b.Fatal(err)
		}
		iss.publish()
		b.StartTimer()
		reps, err := w.Refresh(ctx, iss.source())
		if err != nil || reps[0].Deltas != 1 {
			b.Fatalf("%+v, %v", reps, err)
		}
	}
}

// BenchmarkOpen measures unlocking a wallet: one Argon2id derivation
// (t=3, 64 MiB, p=2) and one SM4-GCM opening of the state.
func BenchmarkOpen(b *testing.B) {
	w := newWallet(b)
	for b.Loop() {
		if _, err := Open(w.Dir(), testPassphrase, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
