package holder

import (
	"context"
	"os"
	"testing"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/publication"
)

// wantStorePath checks that the wallet's current path of its only
// credential is the store's path at the latest epoch.
func wantStorePath(t *testing.T, iss *fakeIssuer, w *Wallet) {
	t.Helper()
	c := w.st.Credentials[0]
	want, err := iss.store.Path(c.Serial)
	if err != nil {
		t.Fatal(err)
	}
	got := c.current()
	if got.Root != zkhash.FormatElement(want.Root) || got.Leaf != zkhash.FormatElement(want.Leaf) {
		t.Fatalf("serial %d: root/leaf differ from the store's", c.Serial)
	}
	for h := range want.Siblings {
		if got.Siblings[h] != zkhash.FormatElement(want.Siblings[h]) {
			t.Fatalf("serial %d: sibling %d differs from the store's", c.Serial, h)
		}
	}
}

func TestRefreshFollowsDeltas(t *testing.T) {
	iss := newIssuer(t)
	wallets := make([]*Wallet, 4)
	for i := range wallets {
		wallets[i] = newWallet(t)
		enrol(t, iss, wallets[i], adult)
	}
	// Epochs of appends and revocations of other credentials.
	others := make([]uint64, 0)
	for range 5 {
		w := newWallet(t)
		b := enrol(t, iss, w, teen)
		others = append(others, b.Serial)
	}
	if err := iss.store.Revoke(others[0], others[3]); err != nil {
		t.Fatal(err)
	}
	iss.publish()
	if err := iss.store.Revoke(others[1]); err != nil {
		t.Fatal(err)
	}
	iss.publish()
	iss.publish() // an epoch without change
	for i, w := range wallets {
		reps, err := w.Refresh(context.Background(), iss.source())
		if err != nil {
			t.Fatalf("wallet %d: %v", i, err)
		}
		if len(reps) != 1 || reps[0].Revoked || reps[0].UsedBucket || reps[0].Deltas == 0 {
			t.Fatalf("wallet %d: report %+v", i, reps)
		}
		wantStorePath(t, iss, w)
		// A second refresh has nothing to do.
		reps, err = w.Refresh(context.Background(), iss.source())
		if err != nil || reps[0].Deltas != 0 || reps[0].FromEpoch != reps[0].ToEpoch {
			t.Fatalf("wallet %d: second refresh %+v, %v", i, reps, err)
		}
	}
	// The refreshed path is persisted.
	w2, err := Open(wallets[0].Dir(), testPassphrase, Options{Now: testClock})
	if err != nil {
		t.Fatal(err)
	}
	wantStorePath(t, iss, w2)
}

func TestRefreshReportsRevocation(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	b := enrol(t, iss, w, adult)
	enrol(t, iss, newWallet(t), adult)
	if err := iss.store.Revoke(b.Serial); err != nil {
		t.Fatal(err)
	}
	e := iss.publish()
	reps, err := w.Refresh(context.Background(), iss.source())
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || !reps[0].Revoked || reps[0].ToEpoch != e.Epoch {
		t.Fatalf("report %+v", reps)
	}
	wantErr(t, errorFromNote(reps[0].Note), "revoked")
	if c := w.Credentials(); !c[0].Revoked || c[0].RevokedEpoch != e.Epoch {
		t.Fatalf("credentials %+v", c)
	}
	_, err = w.present(sdRequestFor(t, "platform-a", "age_over_18"))
	wantIs(t, err, ErrRevoked)
}

func errorFromNote(note string) error {
	if note == "" {
		return nil
	}
	return noteError(note)
}

type noteError string

func (n noteError) Error() string { return string(n) }

func TestRefreshFallsBackToABucket(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	b := enrol(t, iss, w, adult)
	for range 3 {
		enrol(t, iss, newWallet(t), adult)
	}
	missing := publication.DeltaName(b.Path.Epoch + 2)
	// Over a directory there are no buckets: a missing delta is an error
	// that names both causes.
	if err := os.Remove(iss.public(missing)); err != nil {
		t.Fatal(err)
	}
	_, err := w.Refresh(context.Background(), iss.source())
	wantErr(t, err, "cannot refresh from deltas", "delta of epoch", "not published")
	// Over a source that serves buckets, the bucket replaces the deltas.
	src := &bucketSource{iss: iss}
	reps, err := w.Refresh(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if !reps[0].UsedBucket || src.buckets != 1 {
		t.Fatalf("report %+v, %d buckets", reps, src.buckets)
	}
	wantStorePath(t, iss, w)
}

func TestRefreshTooFarBehindUsesABucket(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	enrol(t, iss, w, adult)
	for range MaxDeltas + 1 {
		iss.publish()
	}
	src := &bucketSource{iss: iss}
	reps, err := w.Refresh(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if !reps[0].UsedBucket || reps[0].Deltas != 0 {
		t.Fatalf("report %+v", reps)
	}
	wantStorePath(t, iss, w)
}

func TestRefreshRejects(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	b := enrol(t, iss, w, adult)
	enrol(t, iss, newWallet(t), adult)
	latest := iss.publish()

	for what, alter := range map[string]func([]byte) []byte{
		// The root sits after the magic, version, depth, epoch and leaf
		// count (one byte each here): the path no longer reaches it.
		"delta root": func(d []byte) []byte { d[20] ^= 1; return d },
		"truncated":  func(d []byte) []byte { return d[:len(d)-1] },
	} {
		t.Run("altered delta: "+what, func(t *testing.T) {
			name := publication.DeltaName(b.Path.Epoch + 1)
			good, err := os.ReadFile(iss.public(name))
			if err != nil {
				t.Fatal(err)
			}
			iss.write(name, alter(append([]byte(nil), good...)))
			defer iss.write(name, good)
			_, err = w.Refresh(context.Background(), iss.source())
			wantErr(t, err, "cannot refresh from deltas", "delta of epoch")
		})
	}
	t.Run("delta of another epoch", func(t *testing.T) {
		name := publication.DeltaName(b.Path.Epoch + 1)
		good, err := os.ReadFile(iss.public(name))
		if err != nil {
			t.Fatal(err)
		}
		other, err := os.ReadFile(iss.public(publication.DeltaName(b.Path.Epoch + 2)))
		if err != nil {
			t.Fatal(err)
		}
		iss.write(name, other)
		defer iss.write(name, good)
		_, err = w.Refresh(context.Background(), iss.source())
		wantErr(t, err, "holds the delta of epoch")
	})
	t.Run("latest root not signed by the issuer", func(t *testing.T) {
		good, err := os.ReadFile(iss.public(publication.LatestRootName))
		if err != nil {
			t.Fatal(err)
		}
		iss.write(publication.LatestRootName, []byte(string(good[:len(good)-4])+"AAAA"))
		defer iss.write(publication.LatestRootName, good)
		_, err = w.Refresh(context.Background(), iss.source())
		wantErr(t, err, "latest root")
	})
	t.Run("bucket of another root", func(t *testing.T) {
		if err := os.Remove(iss.public(publication.DeltaName(b.Path.Epoch + 1))); err != nil {
			t.Fatal(err)
		}
		src := &bucketSource{iss: iss}
		// The store moves on without publishing: its bucket is of an
		// unsigned root.
		if _, err := iss.store.Append(zkhash.Tag("stray")); err != nil {
			t.Fatal(err)
		}
		_, err := w.Refresh(context.Background(), src)
		wantErr(t, err, "not of the signed root")
	})
	if c := w.st.Credentials[0]; c.current().Epoch != b.Path.Epoch {
		t.Fatalf("a failed refresh moved the path to epoch %d (latest %d)", c.current().Epoch, latest.Epoch)
	}
	t.Run("rolled back publication", func(t *testing.T) {
		w2 := newWallet(t)
		enrol(t, iss, w2, adult)
		old, err := iss.store.Statement(latest.Epoch)
		if err != nil {
			t.Fatal(err)
		}
		iss.write(publication.LatestRootName, []byte(old.Statement))
		_, err = w2.Refresh(context.Background(), iss.source())
		wantErr(t, err, "older than the wallet's")
	})
}
