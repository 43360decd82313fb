package issuer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/dgraph-io/badger/v4"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/sdjwt"
)

func TestWanghao(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	w := deriveWanghao(secret, schemas.ResidentID, "110101199003071234")
	if !regexp.MustCompile(`^[a-z2-7]{32}$`).MatchString(w) {
		t.Fatalf("网号 %q is not 32 lower-case base32 characters", w)
	}
	if w != deriveWanghao(secret, schemas.ResidentID, "110101199003071234") {
		t.Fatal("not stable")
	}
	for name, other := range map[string]string{
		"other number":   deriveWanghao(secret, schemas.ResidentID, "110101199003071235"),
		"other doc type": deriveWanghao(secret, schemas.Passport, "110101199003071234"),
		"other secret":   deriveWanghao(bytes.Repeat([]byte{8}, 32), schemas.ResidentID, "110101199003071234"),
	} {
		if other == w {
			t.Errorf("%s gives the same 网号", name)
		}
	}
	if strings.Contains(w, "1990") || strings.Contains(w, "110101") {
		t.Fatal("网号 shows the document number")
	}
	if len(w) < schemas.MinWanghaoLen || len(w) > schemas.MaxWanghaoLen {
		t.Fatalf("length %d outside the schema's bounds", len(w))
	}
}

func TestIssueBundleVerifies(t *testing.T) {
	for _, suite := range []jose.Suite{jose.SuiteGM, jose.SuiteIntl} {
		t.Run(string(suite), func(t *testing.T) {
			iss, _ := newTestIssuer(t, suite)
			h := newHolder(t, 8)
			b, err := iss.Issue(adultSubject(), h.req)
			if err != nil {
				t.Fatal(err)
			}
			checkBundle(t, iss, h, b)

			// The same person again (a restored wallet: same holder
			// secret, new copy keys): same 网号, next serial.
			h2 := newHolder(t, 2)
			h2.secret = h.secret
			h2.req.HolderCommitment = h.req.HolderCommitment
			s := adultSubject()
			s.DocNumber = strings.ToLower(s.DocNumber) // normalised
			b2, err := iss.Issue(s, h2.req)
			if err != nil {
				t.Fatal(err)
			}
			if b2.Wanghao != b.Wanghao || b2.Serial != b.Serial+1 || len(b2.SDJWT) != 2 {
				t.Fatalf("re-issuance: 网号 %s serial %d copies %d", b2.Wanghao, b2.Serial, len(b2.SDJWT))
			}
			checkBundle(t, iss, h2, b2)
		})
	}
}

// checkBundle checks a bundle the way a holder will: SD-JWT signatures and
// claims, the leaf recomputed from the attributes, the pending path under the
// current root, then, after the next Publish, the path brought by that
// epoch's delta to the signed root. It publishes an epoch.
func checkBundle(t *testing.T, iss *Issuer, h *testHolder, b *Bundle) {
	t.Helper()
	meta := iss.Metadata()
	pub, err := jose.ParsePublicJWK(meta.JWK)
	if err != nil {
		t.Fatal(err)
	}
	if b.Version != 1 || b.Issuer != meta.Issuer || len(b.SDJWT) != len(h.keys) {
		t.Fatalf("bundle header: %+v", b)
	}
	seen := map[string]bool{}
	seenIdx := map[int64]bool{}
	for i, c := range b.SDJWT {
		v := sdjwt.Verifier{IssuerKey: pub, Now: func() time.Time { return testNow }}
		res, err := v.Verify([]byte(c))
		if err != nil {
			t.Fatalf("copy %d: %v", i, err)
		}
		if !res.HolderKey.Equal(h.keys[i].Public()) {
			t.Fatalf("copy %d: cnf is not holder key %d", i, i)
		}
		if err := schemas.ValidateClaims(res.Claims); err != nil {
			t.Fatalf("copy %d: %v", i, err)
		}
		st := res.Claims["status"].(map[string]any)["status_list"].(map[string]any)
		idx, _ := st["idx"].(json.Number).Int64()
		if idx < 0 || idx >= testStatusEntries || st["uri"] != meta.StatusListURI || seenIdx[idx] {
			t.Fatalf("copy %d: status %v (each copy has an index of its own in the list)", i, st)
		}
		seenIdx[idx] = true
		if res.Claims["wanghao"] != b.Wanghao || res.Claims["name"] != b.ZK.Name || res.Claims["vct"] != schemas.VCT {
			t.Fatalf("copy %d: claims %v", i, res.Claims)
		}
		if res.Header["kid"] != meta.KID {
			t.Fatalf("copy %d: kid %v", i, res.Header["kid"])
		}
		jwt := strings.SplitN(c, "~", 2)[0]
		if seen[jwt] {
			t.Fatalf("copy %d repeats a signed JWT: copies would link", i)
		}
		seen[jwt] = true
		// Every personal claim is selectively disclosable: the signed
		// payload alone shows none of them.
		if strings.Contains(jwt, b64.EncodeToString([]byte(b.Wanghao))[:10]) {
			t.Fatal("网号 visible in the signed JWT")
		}
	}

	// Leaf from the attributes in clear and the holder's commitment.
	birth, _ := schemas.ParseDate(b.ZK.BirthDate)
	expiry, _ := schemas.ParseDate(b.ZK.Expiry)
	dt, _ := schemas.ParseDocType(b.ZK.DocType)
	salt, err := b64.DecodeString(b.ZK.Salt)
	if err != nil || len(salt) != schemas.SaltBytes {
		t.Fatalf("salt %q", b.ZK.Salt)
	}
	a := schemas.Attributes{Wanghao: b.Wanghao, Name: b.ZK.Name, BirthDate: birth, DocType: dt, Region: b.ZK.Region,
		Level: uint8(b.ZK.Level), GuardianConsent: b.ZK.GuardianConsent, GuardianAcknowledgement: b.ZK.GuardianAcknowledgement, Expiry: expiry}
	copy(a.Salt[:], salt)
	packed, identity, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	leaf := zkhash.Leaf(zkhash.LeafTag(circuits.SchemaName), packed, zkhash.HolderCommitment(h.secret), identity)
	if zkhash.FormatElement(leaf) != b.ZK.Leaf || zkhash.FormatElement(packed) != b.ZK.Attributes || zkhash.FormatElement(identity) != b.ZK.Identity {
		t.Fatal("leaf, attributes or identity do not follow from the attributes")
	}
	var siblings []fr.Element
	for _, s := range b.Path.Siblings {
		e, err := zkhash.ParseElement(s)
		if err != nil {
			t.Fatal(err)
		}
		siblings = append(siblings, e)
	}
	if len(siblings) != meta.Depth/zkhash.LevelBits*zkhash.SiblingsPerLevel {
		t.Fatalf("%d siblings, depth %d", len(siblings), meta.Depth)
	}
	root, err := zkhash.RootFromPath(leaf, b.Path.Serial, siblings)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Pending || b.RootStatement != "" {
		t.Fatalf("bundle pending %v with root statement %q: issuance must not publish an epoch", b.Pending, b.RootStatement)
	}
	current, err := iss.acc.Root()
	if err != nil {
		t.Fatal(err)
	}
	if zkhash.FormatElement(root) != b.Path.Root || !root.Equal(&current) {
		t.Fatal("the pending path does not fold to the current root")
	}
	e, err := iss.Publish()
	if err != nil {
		t.Fatal(err)
	}
	if e.Epoch != b.Path.Epoch {
		t.Fatalf("the bundle names epoch %d, the next publication is epoch %d", b.Path.Epoch, e.Epoch)
	}
	st, err := revocation.VerifyRootStatement(e.Statement, pub)
	if err != nil {
		t.Fatal(err)
	}
	p := bundlePath(t, b)
	p, err = revocation.UpdatePath(p, publishedDelta(t, iss, e.Epoch))
	if err != nil {
		t.Fatalf("the epoch's delta does not complete the pending path: %v", err)
	}
	siblings = p.Siblings
	if !p.Root.Equal(&st.Root) || !p.Leaf.Equal(&leaf) || st.Issuer != meta.Issuer {
		t.Fatal("the completed path does not fold to the signed root of its epoch")
	}
	// The credential, as the holder will hold it, satisfies an age_over_18
	// statement under that root.
	cred := circuits.Credential{Attributes: packed, Identity: identity, Secret: h.secret, Serial: b.Serial, Siblings: siblings}
	todayCode, _ := today(testNow).Code()
	after, before, err := schemas.AgeWindow(today(testNow), ptr(18), nil)
	if err != nil {
		t.Fatal(err)
	}
	scope, _ := schemas.ScopeElement("platform-a")
	nonce, _ := schemas.NonceElement(bytes.Repeat([]byte{1}, 32))
	stmt := circuits.Statement{Root: st.Root, Today: todayCode, BornAfter: after, BornBefore: before, MinLevel: 1, Scope: scope, Nonce: nonce}
	if _, err := cred.Satisfies(&stmt); err != nil {
		t.Fatalf("bundle credential does not satisfy age_over_18: %v", err)
	}
}

func ptr(n int) *int { return &n }

// publishedDelta reads and decodes the published delta of epoch.
func publishedDelta(t *testing.T, iss *Issuer, epoch uint64) *revocation.Delta {
	t.Helper()
	data, err := iss.PublicFile(publication.DeltaName(epoch))
	if err != nil {
		t.Fatal(err)
	}
	d := new(revocation.Delta)
	if err := d.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestIssueRefuses(t *testing.T) {
	iss, _ := newTestIssuer(t, jose.SuiteGM)
	h := newHolder(t, 2)
	bad := func(modify func(r *HolderRequest)) *HolderRequest {
		r := *h.req
		r.SDJWTKeys = append([]json.RawMessage(nil), h.req.SDJWTKeys...)
		modify(&r)
		return &r
	}
	child := minorSubject("2013-01-01")
	child.Guardian = nil
	teen := minorSubject("2011-01-01")
	teen.Guardian = nil
	tests := []struct {
		name    string
		subject *Subject
		req     *HolderRequest
		want    string
	}{
		{"13 without consent", child, h.req, "guardian: an applicant aged 13"},
		{"15 without acknowledgement", teen, h.req, "guardian: an applicant aged 15"},
		{"version", adultSubject(), bad(func(r *HolderRequest) { r.Version = 2 }), "version 2"},
		{"commitment malformed", adultSubject(), bad(func(r *HolderRequest) { r.HolderCommitment = "0x12" }), "holder_commitment"},
		{"commitment zero", adultSubject(), bad(func(r *HolderRequest) { r.HolderCommitment = "0x" + strings.Repeat("0", 64) }), "holder_commitment is zero"},
		{"no keys", adultSubject(), bad(func(r *HolderRequest) { r.SDJWTKeys = nil }), "0 keys"},
		{"too many keys", adultSubject(), bad(func(r *HolderRequest) {
			for len(r.SDJWTKeys) <= MaxSDJWTCopies {
				r.SDJWTKeys = append(r.SDJWTKeys, r.SDJWTKeys[0])
			}
		}), "keys, want 1 to"},
		{"repeated key", adultSubject(), bad(func(r *HolderRequest) { r.SDJWTKeys[1] = r.SDJWTKeys[0] }), "repeats"},
		{"private key", adultSubject(), bad(func(r *HolderRequest) {
			k, _ := h.keys[0].MarshalJSON()
			r.SDJWTKeys[0] = k
		}), "sd_jwt_keys[0]"},
		{"not a key", adultSubject(), bad(func(r *HolderRequest) { r.SDJWTKeys[0] = json.RawMessage(`{"kty":"oct"}`) }), "sd_jwt_keys[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := iss.Issue(tc.subject, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if n, _ := iss.acc.LeafCount(); n != 0 {
		t.Fatalf("refusals appended %d leaves", n)
	}
	// A 12-year-old with consent is issued, with the consent flag.
	b, err := iss.Issue(minorSubject("2014-01-01"), h.req)
	if err != nil {
		t.Fatal(err)
	}
	if !b.ZK.GuardianConsent || b.ZK.GuardianAcknowledgement {
		t.Fatalf("flags: %+v", b.ZK)
	}
}

func TestParseHolderRequest(t *testing.T) {
	h := newHolder(t, 8)
	data, _ := json.Marshal(h.req)
	if _, err := ParseHolderRequest(data); err != nil {
		t.Fatal(err)
	}
	extra := bytes.Replace(data, []byte(`{"version":1`), []byte(`{"version":1,"secret":"x"`), 1)
	if _, err := ParseHolderRequest(extra); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Fatalf("unknown field: %v", err)
	}
}

func TestRevokeAndPublish(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	h := newHolder(t, 1)
	b, err := iss.Issue(adultSubject(), h.req)
	if err != nil {
		t.Fatal(err)
	}
	other, err := iss.Issue(minorSubject("2011-01-01"), newHolder(t, 1).req)
	if err != nil {
		t.Fatal(err)
	}
	if err := iss.Revoke(b.Serial); err != nil {
		t.Fatal(err)
	}
	if err := iss.Revoke(99); err == nil || !strings.Contains(err.Error(), "never issued") {
		t.Fatalf("unknown serial: %v", err)
	}
	pub := iss.PublicKey()
	// The status list shows the revocation at once.
	tok, err := iss.PublicFile(publication.StatusListName)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := revocation.ParseStatusListToken(string(tok), pub, iss.Metadata().StatusListURI, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := sl.Status(copyIndices(t, b)[0]); st != revocation.Revoked {
		t.Fatal("status list does not show the revocation")
	}
	if st, _ := sl.Status(copyIndices(t, other)[0]); st != revocation.Valid {
		t.Fatal("status list revokes another credential")
	}
	// Buckets wait for a signed root.
	if _, err := iss.Bucket(revocation.BucketIndex(other.Serial, 2), 2); !errors.Is(err, ErrUnpublished) {
		t.Fatalf("bucket before publish: %v", err)
	}
	e, err := iss.Publish()
	if err != nil {
		t.Fatal(err)
	}
	if e.Epoch != other.Path.Epoch || e.Epoch != b.Path.Epoch {
		t.Fatalf("epoch %d published, the bundles name %d and %d", e.Epoch, b.Path.Epoch, other.Path.Epoch)
	}
	latest, _ := iss.PublicFile(publication.LatestRootName)
	byEpoch, _ := iss.PublicFile(publication.RootName(e.Epoch))
	if string(latest) != e.Statement || string(byEpoch) != e.Statement {
		t.Fatal("root files not rewritten")
	}
	// The other holder completes its pending path from the published
	// delta; the revoked leaf's path shows an empty leaf.
	deltaData, err := iss.PublicFile(publication.DeltaName(e.Epoch))
	if err != nil {
		t.Fatal(err)
	}
	var d revocation.Delta
	if err := d.UnmarshalBinary(deltaData); err != nil {
		t.Fatal(err)
	}
	otherPath := bundlePath(t, other)
	if _, err := revocation.UpdatePath(otherPath, &d); err != nil {
		t.Fatalf("valid holder cannot refresh: %v", err)
	}
	revokedPath := bundlePath(t, b)
	p, err := revocation.UpdatePath(revokedPath, &d)
	if err == nil && !p.Leaf.IsZero() {
		t.Fatal("revoked leaf still in the tree after refresh")
	}
	bucket, err := iss.Bucket(revocation.BucketIndex(other.Serial, 2), 2)
	if err != nil {
		t.Fatal(err)
	}
	var bk revocation.Bucket
	if err := bk.UnmarshalBinary(bucket); err != nil || !bk.Root.Equal(&e.Root) {
		t.Fatalf("bucket: %v", err)
	}
	// Every published file is on disk under DIR/public.
	for _, name := range []string{publication.IssuerName, publication.LatestRootName, publication.StatusListName, publication.RootName(1), publication.DeltaName(1)} {
		if _, err := os.Stat(filepath.Join(dir, "public", filepath.FromSlash(name))); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := iss.PublicFile("../private/keys.sealed"); err == nil {
		t.Fatal("PublicFile left the publication")
	}
	if _, err := iss.PublicFile("roots/999.jws"); !errors.Is(err, publication.ErrNotFound) {
		t.Fatalf("missing file: %v", err)
	}
}

func bundlePath(t *testing.T, b *Bundle) *revocation.Path {
	t.Helper()
	p := &revocation.Path{Serial: b.Serial}
	var err error
	if p.Leaf, err = zkhash.ParseElement(b.ZK.Leaf); err != nil {
		t.Fatal(err)
	}
	if p.Root, err = zkhash.ParseElement(b.Path.Root); err != nil {
		t.Fatal(err)
	}
	for _, s := range b.Path.Siblings {
		e, _ := zkhash.ParseElement(s)
		p.Siblings = append(p.Siblings, e)
	}
	return p
}

func TestDelete(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	child := minorSubject("2014-01-01")
	b1, err := iss.Issue(child, newHolder(t, 1).req)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := iss.IssueWithOptions(child, newHolder(t, 1).req, IssueOptions{ReplaceDevice: true}) // a second device
	if err != nil {
		t.Fatal(err)
	}
	kept, err := iss.Issue(adultSubject(), newHolder(t, 1).req)
	if err != nil {
		t.Fatal(err)
	}
	pkey := personKey(iss.secret, b1.Wanghao)
	sealedRecord := rawValue(t, iss, pkey)
	if sealedRecord == nil {
		t.Fatal("no person record stored")
	}
	if hits := grepDir(t, filepath.Join(dir, "private"), sealedRecord[len(sealedRecord)-24:]); len(hits) == 0 {
		t.Fatal("the sealed record cannot be found on disk before deletion: the check below would prove nothing")
	}

	res, err := iss.Delete(b1.Wanghao)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Revoked) != 2 || res.Revoked[0] != b1.Serial || res.Revoked[1] != b2.Serial {
		t.Fatalf("revoked %v", res.Revoked)
	}
	for _, s := range []uint64{b1.Serial, b2.Serial} {
		if st, _ := iss.Status(s); st != revocation.Revoked {
			t.Fatalf("serial %d not revoked", s)
		}
	}
	if st, _ := iss.Status(kept.Serial); st != revocation.Valid {
		t.Fatal("another person's credential revoked")
	}
	// The status list shows the deletion at once; the accumulator's side
	// waits for the next epoch, which is the one the result names.
	tok, err := iss.PublicFile(publication.StatusListName)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := revocation.ParseStatusListToken(string(tok), iss.PublicKey(), iss.Metadata().StatusListURI, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []*Bundle{b1, b2} {
		for _, idx := range copyIndices(t, b) {
			if st, err := sl.Status(idx); err != nil || st != revocation.Revoked {
				t.Fatalf("status list after deletion: index %d %v, %v", idx, st, err)
			}
		}
	}
	if _, err := iss.PublicFile(publication.RootName(res.NextEpoch)); !errors.Is(err, publication.ErrNotFound) {
		t.Fatalf("deletion published epoch %d at once: %v", res.NextEpoch, err)
	}
	e, err := iss.Publish()
	if err != nil {
		t.Fatal(err)
	}
	if e.Epoch != res.NextEpoch {
		t.Fatalf("the deletion named epoch %d, the next publication is %d", res.NextEpoch, e.Epoch)
	}
	// The accumulator stays consistent: the other holder's pending path is
	// completed by the published delta.
	p := bundlePath(t, kept)
	for e := kept.Path.Epoch; e <= res.NextEpoch; e++ {
		data, _ := iss.PublicFile(publication.DeltaName(e))
		var de revocation.Delta
		if err := de.UnmarshalBinary(data); err != nil {
			t.Fatal(err)
		}
		if p, err = revocation.UpdatePath(p, &de); err != nil {
			t.Fatal(err)
		}
	}
	if p.Leaf.IsZero() {
		t.Fatal("kept credential lost its leaf")
	}
	if rec, _, err := iss.getPerson(pkey); err != nil || rec != nil {
		t.Fatalf("record after deletion: %v, %v", rec, err)
	}
	if _, err := iss.Delete(b1.Wanghao); !errors.Is(err, ErrUnknownWanghao) {
		t.Fatalf("second deletion: %v", err)
	}
	for _, w := range []string{"", "short", strings.Repeat("A", WanghaoLen), strings.Repeat("1", WanghaoLen)} {
		if _, err := iss.Delete(w); err == nil || errors.Is(err, ErrUnknownWanghao) {
			t.Errorf("malformed 网号 %q: %v", w, err)
		}
	}
	// The sealed record has left the files on disk.
	iss.Close()
	if hits := grepDir(t, filepath.Join(dir, "private"), sealedRecord[len(sealedRecord)-24:]); len(hits) > 0 {
		t.Fatalf("the erased record's ciphertext is still in %v", hits)
	}
}

// rawValue reads a raw database value, or nil.
func rawValue(t *testing.T, iss *Issuer, key []byte) []byte {
	t.Helper()
	var v []byte
	err := iss.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
		t.Fatal(err)
	}
	return v
}

func TestWrongPassphrase(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	iss.Close()
	before := snapshot(t, dir)
	if _, err := Open(dir, []byte("not the passphrase")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("err = %v", err)
	}
	if after := snapshot(t, dir); after != before {
		t.Fatal("a failed open changed the directory")
	}
	if _, err := Open(t.TempDir(), testPass); !errors.Is(err, ErrNotIssuerDir) {
		t.Fatalf("empty dir: %v", err)
	}
}

// snapshot lists every file with its size and contents' digest.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(path)
		b.WriteString(path + " " + digestHex(data) + "\n")
		return nil
	})
	return b.String()
}

func TestInitRefuses(t *testing.T) {
	_, dir := newTestIssuer(t, jose.SuiteGM)
	opts := Options{SkipCircuitKeys: true, KDF: fastKDF}
	if err := Init(dir, testPass, opts); err == nil || !strings.Contains(err.Error(), "already an issuer directory") {
		t.Fatalf("re-init: %v", err)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	if err := Init(other, testPass, opts); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("foreign dir: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(other, "notes.txt")); string(data) != "mine" {
		t.Fatal("foreign file touched")
	}
	for _, bad := range []Options{
		{Issuer: "http://issuer.example", SkipCircuitKeys: true},
		{Issuer: "https://issuer.example/", SkipCircuitKeys: true},
		{Issuer: "https://issuer.example?x=1", SkipCircuitKeys: true},
		{Suite: "rsa", SkipCircuitKeys: true},
		{Depth: 99, SkipCircuitKeys: true},
		{Depth: 31, SkipCircuitKeys: true}, // the tree is 4-ary
		{KDF: fastKDF},                     // circuit keys but no directory to take them from
	} {
		d := filepath.Join(t.TempDir(), "new")
		if err := Init(d, testPass, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
		if entries, _ := os.ReadDir(d); len(entries) != 0 {
			t.Errorf("%+v: failed init left %d entries", bad, len(entries))
		}
	}
	if err := Init(filepath.Join(t.TempDir(), "x"), nil, opts); err == nil {
		t.Error("empty passphrase accepted")
	}
}

func TestMetadata(t *testing.T) {
	iss, _ := newTestIssuer(t, jose.SuiteGM)
	m := iss.Metadata()
	data, err := iss.PublicFile(publication.IssuerName)
	if err != nil {
		t.Fatal(err)
	}
	var onDisk map[string]any
	if err := json.Unmarshal(data, &onDisk); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"issuer", "suite", "jwk", "kid", "depth", "circuit_id", "schema_id", "vct", "status_list_uri"} {
		if _, ok := onDisk[k]; !ok {
			t.Errorf("issuer.json lacks %s", k)
		}
	}
	if len(onDisk) != 9 {
		t.Errorf("issuer.json has %d members", len(onDisk))
	}
	id, _ := schemas.SchemaID()
	if m.Issuer != DefaultIssuer || m.Suite != jose.SuiteGM || m.Depth != 32 || m.SchemaID != id ||
		m.StatusListURI != DefaultIssuer+"/statuslist.jwt" || m.KID != iss.PublicKey().KeyID() {
		t.Fatalf("metadata %+v", m)
	}
	if strings.Contains(string(data), `"d"`) {
		t.Fatal("issuer.json holds a private key member")
	}
}

// TestPersonalDataAtRest issues to a minor (whose guardian record is kept)
// and looks for every personal value in the raw files of the private
// directory and the accumulator.
func TestPersonalDataAtRest(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	child := minorSubject("2014-01-01")
	b, err := iss.Issue(child, newHolder(t, 1).req)
	if err != nil {
		t.Fatal(err)
	}
	// The record is there and holds the guardian's document number…
	rec, _, err := iss.getPerson(personKey(iss.secret, b.Wanghao))
	if err != nil || rec == nil || rec.Guardian == nil || rec.Guardian.DocNumber != child.Guardian.DocNumber {
		t.Fatalf("record %+v, %v", rec, err)
	}
	iss.Close()
	// …yet no personal value can be read in the raw files.
	for _, secret := range []string{child.Name, child.DocNumber, child.Guardian.DocNumber, b.Wanghao, child.BirthDate} {
		if hits := grepDir(t, dir, []byte(secret)); len(hits) > 0 {
			t.Errorf("%q readable in %v", secret, hits)
		}
	}
}

func grepDir(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil && bytes.Contains(data, needle) {
			hits = append(hits, path)
		}
		return nil
	})
	return hits
}

func TestAuditLog(t *testing.T) {
	iss, _ := newTestIssuer(t, jose.SuiteGM)
	s := adultSubject()
	b, err := iss.Issue(s, newHolder(t, 1).req)
	if err != nil {
		t.Fatal(err)
	}
	iss.Revoke(b.Serial)
	iss.Publish()
	iss.Delete(b.Wanghao)
	log, err := iss.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "init,issue,revoke,publish,delete" {
		t.Fatalf("actions %s", got)
	}
	raw, _ := json.Marshal(log)
	for _, personal := range []string{s.Name, s.DocNumber, s.BirthDate, b.Wanghao, s.Region} {
		if strings.Contains(string(raw), personal) {
			t.Errorf("audit log holds %q", personal)
		}
	}
	// Tampering breaks the chain.
	e := log[2]
	e.Count = 42
	v, _ := json.Marshal(e)
	if err := iss.db.Update(func(txn *badger.Txn) error { return txn.Set(auditKey(2), v) }); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.AuditLog(); err == nil || !strings.Contains(err.Error(), "does not chain") {
		t.Fatalf("tampered log: %v", err)
	}
}

func TestConcurrentIssue(t *testing.T) {
	iss, _ := newTestIssuer(t, jose.SuiteGM)
	const n = 6
	var wg sync.WaitGroup
	serials := make(chan uint64, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		h := newHolder(t, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := iss.Issue(otherAdult(), h.req)
			if err != nil {
				errs <- err
				return
			}
			serials <- b.Serial
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); iss.Publish() }()
	wg.Wait()
	close(serials)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for s := range serials {
		if seen[s] {
			t.Fatalf("serial %d issued twice", s)
		}
		seen[s] = true
	}
	if len(seen) != n {
		t.Fatalf("%d serials", len(seen))
	}
}
