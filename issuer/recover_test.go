package issuer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/internal/storelock"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

func reopen(t *testing.T, dir string) *Issuer {
	t.Helper()
	iss, err := open(dir, testPass, func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iss.Close() })
	return iss
}

func closeIssuer(t *testing.T, iss *Issuer) {
	t.Helper()
	if err := iss.Close(); err != nil {
		t.Fatal(err)
	}
}

func publicFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, publicDir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// refreshAcross brings b's pending path through every epoch from its own to
// the latest, reading only the public directory as a wallet does, and
// checks that it lands on the latest signed root.
func refreshAcross(t *testing.T, iss *Issuer, dir string, b *Bundle) {
	t.Helper()
	latest, err := revocation.VerifyRootStatement(string(publicFile(t, dir, publication.LatestRootName)), iss.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	p := bundlePath(t, b)
	for e := b.Path.Epoch + 1; e <= latest.Epoch; e++ {
		d := new(revocation.Delta)
		if err := d.UnmarshalBinary(publicFile(t, dir, publication.DeltaName(e))); err != nil {
			t.Fatalf("delta of epoch %d: %v", e, err)
		}
		if p, err = revocation.UpdatePath(p, d); err != nil {
			t.Fatalf("refresh through epoch %d: %v", e, err)
		}
		rs, err := revocation.VerifyRootStatement(string(publicFile(t, dir, publication.RootName(e))), iss.PublicKey())
		if err != nil || !rs.Root.Equal(&p.Root) {
			t.Fatalf("epoch %d: path root does not match roots/%d.jws (%v)", e, e, err)
		}
	}
	if !p.Root.Equal(&latest.Root) {
		t.Fatal("refreshed path does not reach the latest root")
	}
}

// TestOpenFinishesAnInterruptedPublish: a publish that dies after the
// accumulator committed its epoch leaves no file of it; the next open writes
// them, and a wallet refreshes across that epoch from the directory alone.
func TestOpenFinishesAnInterruptedPublish(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	b := issueN(t, iss, 1)[0]
	if _, err := iss.Publish(); err != nil {
		t.Fatal(err)
	}
	issueN(t, iss, 2)
	crash := errors.New("killed")
	publishCommitted = func() error { return crash }
	_, err := iss.Publish()
	publishCommitted = nil
	if !errors.Is(err, crash) {
		t.Fatalf("publish: %v", err)
	}
	lost := b.Path.Epoch + 1
	for _, name := range []string{publication.RootName(lost), publication.DeltaName(lost)} {
		if _, err := os.Stat(filepath.Join(dir, publicDir, name)); !os.IsNotExist(err) {
			t.Fatalf("%s exists after the crash (%v): the hook is not where it should be", name, err)
		}
	}
	closeIssuer(t, iss)

	iss = reopen(t, dir)
	st, err := iss.acc.Statement(lost)
	if err != nil {
		t.Fatal(err)
	}
	if got := publicFile(t, dir, publication.RootName(lost)); string(got) != st.Statement {
		t.Fatal("roots file of the interrupted epoch not rewritten from the store")
	}
	if got := publicFile(t, dir, publication.LatestRootName); string(got) != st.Statement {
		t.Fatal("roots/latest.jws not brought to the interrupted epoch")
	}
	// Later epochs build on it, and a wallet crosses it.
	issueN(t, iss, 1)
	if _, err := iss.Publish(); err != nil {
		t.Fatal(err)
	}
	refreshAcross(t, iss, dir, b)
}

// TestOpenRewritesLostOrDamagedPublicFiles: files removed, truncated or
// overwritten after a publish are written again from the store at open.
func TestOpenRewritesLostOrDamagedPublicFiles(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	b := issueN(t, iss, 1)[0]
	var last uint64
	if _, err := iss.Publish(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		issueN(t, iss, 1)
		e, err := iss.Publish()
		if err != nil {
			t.Fatal(err)
		}
		last = e.Epoch
	}
	want := map[string][]byte{}
	names := []string{publication.RootName(last - 1), publication.DeltaName(last - 1),
		publication.RootName(last), publication.DeltaName(last), publication.LatestRootName}
	for _, n := range names {
		want[n] = publicFile(t, dir, n)
	}
	closeIssuer(t, iss)
	path := func(n string) string { return filepath.Join(dir, publicDir, filepath.FromSlash(n)) }
	os.Remove(path(publication.RootName(last - 1)))
	os.Remove(path(publication.DeltaName(last - 1)))
	os.WriteFile(path(publication.RootName(last)), []byte("not a statement"), 0o644)
	// A well-formed delta, of another epoch.
	os.WriteFile(path(publication.DeltaName(last)), want[publication.DeltaName(last-1)], 0o644)
	os.Remove(path(publication.LatestRootName))

	iss = reopen(t, dir)
	for _, n := range names {
		if got := publicFile(t, dir, n); !bytes.Equal(got, want[n]) {
			t.Errorf("%s not restored", n)
		}
	}
	refreshAcross(t, iss, dir, b)
}

// TestOpenRewritesAStatusListBehind: a crash between a revocation and the
// status list's rewrite leaves the list behind the accumulator; open
// rewrites it.
func TestOpenRewritesAStatusListBehind(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	b := issueN(t, iss, 2)[1]
	old := publicFile(t, dir, publication.StatusListName)
	if err := iss.Revoke(b.Serial); err != nil {
		t.Fatal(err)
	}
	closeIssuer(t, iss)
	if err := os.WriteFile(filepath.Join(dir, publicDir, publication.StatusListName), old, 0o644); err != nil {
		t.Fatal(err)
	}
	iss = reopen(t, dir)
	list, err := revocation.ParseStatusListToken(string(publicFile(t, dir, publication.StatusListName)),
		iss.PublicKey(), iss.meta.StatusListURI, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, idx := range copyIndices(t, b) {
		if st, err := list.Status(idx); err != nil || st != revocation.Revoked {
			t.Fatalf("status of the revoked serial's copy in the rewritten list: %v, %v", st, err)
		}
	}
}

// TestOpenRemovesTempFiles: the temporary files of interrupted atomic
// writes go at the next open; other files stay.
func TestOpenRemovesTempFiles(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	closeIssuer(t, iss)
	dirs := []string{dir, filepath.Join(dir, privateDir), filepath.Join(dir, publicDir),
		filepath.Join(dir, publicDir, "roots"), filepath.Join(dir, publicDir, "deltas")}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, ".tmp-123"), make([]byte, 600<<10), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keep := filepath.Join(dir, publicDir, "notes.txt")
	os.WriteFile(keep, []byte("x"), 0o644)
	reopen(t, dir)
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, ".tmp-123")); !os.IsNotExist(err) {
			t.Errorf("temp file in %s survived the open (%v)", d, err)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Error("open removed a file that is not a temp file")
	}
}

// copyDir copies the issuer directory (closed) to a new one.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir() + "/snap"
	if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// restore replaces sub (a file or directory inside dir) with its copy in
// snap.
func restore(t *testing.T, dir, snap, sub string) {
	t.Helper()
	if fi, err := os.Stat(filepath.Join(snap, sub)); err == nil && fi.Mode().IsRegular() {
		data, err := os.ReadFile(filepath.Join(snap, sub))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, sub), data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join(snap, sub))); err != nil {
		t.Fatal(err)
	}
}

func wantRolledBack(t *testing.T, dir string) {
	t.Helper()
	iss, err := open(dir, testPass, func() time.Time { return testNow })
	if err == nil {
		iss.Close()
		t.Fatal("a rolled-back issuer directory opened")
	}
	if !errors.Is(err, ErrRolledBack) {
		t.Fatalf("err = %v, want ErrRolledBack", err)
	}
}

// TestOpenRefusesARolledBackAccumulator: each case restores an old copy of
// the accumulator (and of whatever public file would otherwise also give
// it away), so that exactly one comparison sees the rollback.
func TestOpenRefusesARolledBackAccumulator(t *testing.T) {
	for _, tc := range []struct {
		name string
		// after runs on the open issuer after the snapshot.
		after func(t *testing.T, iss *Issuer)
		// keep are public files restored from the snapshot too.
		keep []string
	}{
		{name: "published epochs", after: func(t *testing.T, iss *Issuer) {
			if _, err := iss.Publish(); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "latest root only", after: func(t *testing.T, iss *Issuer) {
			e, err := iss.Publish()
			if err != nil {
				t.Fatal(err)
			}
			os.Remove(iss.publicPath(publication.RootName(e.Epoch)))
		}},
		{name: "delivered serial", after: func(t *testing.T, iss *Issuer) { issueN(t, iss, 1) },
			keep: []string{publication.StatusListName}},
		{name: "acknowledged revocation", after: func(t *testing.T, iss *Issuer) {
			if err := iss.Revoke(0); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss, dir := newTestIssuer(t, jose.SuiteGM)
			issueN(t, iss, 2)
			if _, err := iss.Publish(); err != nil {
				t.Fatal(err)
			}
			closeIssuer(t, iss)
			snap := copyDir(t, dir)
			iss = reopen(t, dir)
			tc.after(t, iss)
			closeIssuer(t, iss)
			restore(t, dir, snap, accumulatorDir)
			for _, n := range tc.keep {
				restore(t, dir, snap, filepath.Join(publicDir, n))
			}
			wantRolledBack(t, dir)
		})
	}
}

// TestOpenRefusesAReSignedEpoch: an accumulator restored from a backup and
// published again signs an epoch number already published with another
// statement; once the published file is back, open refuses.
func TestOpenRefusesAReSignedEpoch(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	issueN(t, iss, 1)
	closeIssuer(t, iss)
	snap := copyDir(t, dir)
	iss = reopen(t, dir)
	e, err := iss.Publish()
	if err != nil {
		t.Fatal(err)
	}
	published := publicFile(t, dir, publication.RootName(e.Epoch))
	closeIssuer(t, iss)

	other := reopen(t, snap)
	if e2, err := other.Publish(); err != nil || e2.Epoch != e.Epoch {
		t.Fatalf("re-publish: %v", err)
	}
	closeIssuer(t, other)
	if err := os.WriteFile(filepath.Join(snap, publicDir, publication.RootName(e.Epoch)), published, 0o644); err != nil {
		t.Fatal(err)
	}
	wantRolledBack(t, snap)
}

// TestOpenRefusesAMissingAccumulator: a lost accumulator directory would be
// created empty and re-issue serial 0.
func TestOpenRefusesAMissingAccumulator(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	closeIssuer(t, iss)
	if err := os.RemoveAll(filepath.Join(dir, accumulatorDir)); err != nil {
		t.Fatal(err)
	}
	wantRolledBack(t, dir)
}

// TestOpenRefusesALostPersonDatabaseManifest: without its MANIFEST the
// person database would open empty (every record and the audit log gone).
func TestOpenRefusesALostPersonDatabaseManifest(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	issueN(t, iss, 1)
	closeIssuer(t, iss)
	if err := os.Remove(filepath.Join(dir, privateDir, dbDir, "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	iss, err := open(dir, testPass, func() time.Time { return testNow })
	if err == nil {
		iss.Close()
		t.Fatal("opened without the person database's MANIFEST")
	}
	if !errors.Is(err, storelock.ErrDamaged) {
		t.Fatalf("err = %v, want storelock.ErrDamaged", err)
	}
}

// TestOpenIgnoresUnsignedRootFiles: a file named like a later epoch but not
// signed by the issuer key proves nothing and does not block the issuer.
func TestOpenIgnoresUnsignedRootFiles(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	closeIssuer(t, iss)
	if err := os.WriteFile(filepath.Join(dir, publicDir, "roots", "99.jws"), []byte("eyJ.eyJ.sig"), 0o644); err != nil {
		t.Fatal(err)
	}
	reopen(t, dir)
}

// appendLeaves appends n random leaves straight to the accumulator (no
// person records: the benchmarks only need serials to revoke).
func appendLeaves(tb testing.TB, iss *Issuer, n int) uint64 {
	tb.Helper()
	leaves := make([]fr.Element, n)
	for i := range leaves {
		leaves[i].SetRandom()
	}
	first, err := iss.acc.Append(leaves...)
	if err != nil {
		tb.Fatal(err)
	}
	return first
}

// TestRevokeManyAtOnce: one call revokes every serial given, every copy's
// status index in the status list at once and in one audit entry; a call
// naming a serial never issued revokes none of them.
func TestRevokeManyAtOnce(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	var bundles []*Bundle
	for i := range 6 {
		s := adultSubject()
		s.DocNumber = residentID("110101", "19900307", 200+i)
		b, err := iss.Issue(s, newHolder(t, 2).req)
		if err != nil {
			t.Fatal(err)
		}
		bundles = append(bundles, b)
	}
	before, err := iss.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	if err := iss.Revoke(bundles[1].Serial, bundles[3].Serial, 1000); err == nil {
		t.Fatal("a batch with a serial never issued was accepted")
	}
	for _, b := range bundles {
		if st, _ := iss.Status(b.Serial); st != revocation.Valid {
			t.Fatalf("serial %d revoked by a refused batch", b.Serial)
		}
	}
	revoked := map[int]bool{1: true, 3: true, 5: true}
	want := []uint64{bundles[1].Serial, bundles[3].Serial, bundles[5].Serial}
	if err := iss.Revoke(want...); err != nil {
		t.Fatal(err)
	}
	list, err := revocation.ParseStatusListToken(string(publicFile(t, dir, publication.StatusListName)),
		iss.PublicKey(), iss.meta.StatusListURI, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bundles {
		for _, idx := range copyIndices(t, b) {
			st, err := list.Status(idx)
			if err != nil || (st == revocation.Revoked) != revoked[i] {
				t.Fatalf("status list: credential %d's index %d is %v (%v)", i, idx, st, err)
			}
		}
	}
	after, err := iss.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 || after[len(after)-1].Action != "revoke" || after[len(after)-1].Count != len(want) {
		t.Fatalf("audit after the batch: %+v", after[len(before):])
	}
	if err := iss.Revoke(); err == nil {
		t.Fatal("a revoke of no serial was accepted")
	}
}
