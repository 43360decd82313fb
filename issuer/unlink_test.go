package issuer

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// clearParts returns the issuer-signed JWT's header and payload of a compact
// SD-JWT: everything a verifier sees of a copy without its disclosures.
func clearParts(t testing.TB, compact string) (header, payload map[string]any) {
	t.Helper()
	jwt, _, _ := strings.Cut(compact, "~")
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %d parts", len(parts))
	}
	for i, into := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(into); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

// copyIndices returns the status index of each SD-JWT copy of b.
func copyIndices(t testing.TB, b *Bundle) []uint64 {
	t.Helper()
	var out []uint64
	for _, c := range b.SDJWT {
		_, p := clearParts(t, c)
		st, _ := p["status"].(map[string]any)
		sl, _ := st["status_list"].(map[string]any)
		n, ok := sl["idx"].(json.Number)
		if !ok {
			t.Fatalf("copy without a status index: %v", p["status"])
		}
		idx, err := strconv.ParseUint(n.String(), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, idx)
	}
	return out
}

// clearValues flattens the clear header and payload of a copy into
// "where=value" strings, one per leaf value; "_sd" digests count one each.
func clearValues(t testing.TB, compact string) map[string]bool {
	t.Helper()
	h, p := clearParts(t, compact)
	out := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(prefix+"."+k, e)
			}
		case []any:
			for _, e := range x {
				walk(prefix+"[]", e) // _sd digests: compared as a set
			}
		default:
			out[fmt.Sprintf("%s=%v", prefix, x)] = true
		}
	}
	walk("header", h)
	walk("payload", p)
	return out
}

// TestCopiesDoNotLink: any clear value two copies of one credential share
// (header or payload, disclosures left out) must also be in the copies of
// another person issued the same day, hours later: an issuer-wide constant
// or a coarse date, never a value per credential. In particular each copy
// has its own status index, and iat and exp are day boundaries.
func TestCopiesDoNotLink(t *testing.T) {
	dir := t.TempDir() + "/issuer"
	now := testNow
	clock := func() time.Time { return now }
	if err := Init(dir, testPass, Options{SkipCircuitKeys: true, KDF: fastKDF, Now: clock, StatusListEntries: testStatusEntries}); err != nil {
		t.Fatal(err)
	}
	iss, err := open(dir, testPass, clock)
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	a, err := iss.Issue(adultSubject(), newHolder(t, 8).req)
	if err != nil {
		t.Fatal(err)
	}
	now = testNow.Add(5*time.Hour + 17*time.Minute + 3*time.Second)
	other := adultSubject()
	other.DocNumber = residentID("440301", "19750102", 321)
	other.Name, other.BirthDate, other.Region, other.Level = "王五", "1975-01-02", "440301", 2
	b, err := iss.Issue(other, newHolder(t, 8).req)
	if err != nil {
		t.Fatal(err)
	}
	shared := map[string]bool{}
	for _, c := range b.SDJWT {
		for v := range clearValues(t, c) {
			shared[v] = true
		}
	}
	seen := map[string]int{}
	for i, c := range a.SDJWT {
		for v := range clearValues(t, c) {
			if j, dup := seen[v]; dup && !shared[v] {
				t.Errorf("copies %d and %d share %s, a value no other credential of the day has", j, i, v)
			}
			seen[v] = i
		}
	}
	idx := copyIndices(t, a)
	for i := range idx {
		for j := range i {
			if idx[i] == idx[j] {
				t.Fatalf("copies %d and %d share status index %d", j, i, idx[i])
			}
		}
		if idx[i] >= testStatusEntries {
			t.Fatalf("index %d beyond the list of %d", idx[i], testStatusEntries)
		}
	}
	_, p := clearParts(t, a.SDJWT[0])
	for _, claim := range []string{"iat", "exp"} {
		n, _ := p[claim].(json.Number)
		sec, err := n.Int64()
		if err != nil {
			t.Fatalf("%s: %v", claim, err)
		}
		if tm := time.Unix(sec, 0).In(chinaTime); tm.Hour()+tm.Minute()+tm.Second() != 0 {
			t.Errorf("%s is %s, not a day boundary (China time)", claim, tm)
		}
	}
}

// TestRevokeSerialRevokesEveryCopy: revoking a serial revokes the status
// index of each of its copies, and no other.
func TestRevokeSerialRevokesEveryCopy(t *testing.T) {
	iss, _ := newTestIssuer(t, jose.SuiteGM)
	a, err := iss.Issue(adultSubject(), newHolder(t, 8).req)
	if err != nil {
		t.Fatal(err)
	}
	other := adultSubject()
	other.DocNumber = residentID("110101", "19900307", 124)
	b, err := iss.Issue(other, newHolder(t, 8).req)
	if err != nil {
		t.Fatal(err)
	}
	if err := iss.Revoke(a.Serial); err != nil {
		t.Fatal(err)
	}
	list := statusList(t, iss)
	for _, idx := range copyIndices(t, a) {
		if st, err := list.Status(idx); err != nil || st != revocation.Revoked {
			t.Fatalf("copy index %d of the revoked serial: %v, %v", idx, st, err)
		}
	}
	for _, idx := range copyIndices(t, b) {
		if st, err := list.Status(idx); err != nil || st != revocation.Valid {
			t.Fatalf("copy index %d of another credential: %v, %v", idx, st, err)
		}
	}
	// The list survives a reopen (its bits are in the private database,
	// not recomputed from the accumulator).
	iss.Close()
	iss2 := reopen(t, iss.dir)
	for _, idx := range copyIndices(t, a) {
		if !bitSet(iss2.status.revoked, idx) {
			t.Fatalf("index %d not revoked after reopening", idx)
		}
	}
}

func statusList(t testing.TB, iss *Issuer) *revocation.StatusList {
	t.Helper()
	tok, err := iss.PublicFile(publication.StatusListName)
	if err != nil {
		t.Fatal(err)
	}
	l, err := revocation.ParseStatusListToken(string(tok), iss.PublicKey(), iss.Metadata().StatusListURI, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestStatusIndicesDrawn: draws are distinct, within the list, never an
// allocated index, and a list without room refuses with ErrStatusListFull.
func TestStatusIndicesDrawn(t *testing.T) {
	b := &statusBitmaps{entries: 64, revoked: make([]byte, 8), alloc: make([]byte, 8)}
	for i := range uint64(60) {
		b.alloc[i/8] |= 1 << (i % 8)
	}
	b.used = 60
	got, err := b.draw(4)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for _, i := range got {
		if i < 60 || i >= 64 || seen[i] {
			t.Fatalf("drew %v: an allocated, repeated or out-of-range index", got)
		}
		seen[i] = true
	}
	if _, err := b.draw(5); !errors.Is(err, ErrStatusListFull) {
		t.Fatalf("a draw beyond the free indices: %v", err)
	}
}

// TestOnePersonOneCredential: a second issuance to one person revokes the
// first (every copy and the leaf) and keeps the commitment; another
// commitment is refused without the operator's decision, and with it the
// old credential is revoked and the decision is in the audit log.
func TestOnePersonOneCredential(t *testing.T) {
	iss, _ := newTestIssuer(t, jose.SuiteGM)
	h := newHolder(t, 3)
	first, err := iss.Issue(adultSubject(), h.req)
	if err != nil {
		t.Fatal(err)
	}
	// The recovery flow: same holder secret, new copy keys.
	again := newHolder(t, 3)
	again.req.HolderCommitment = h.req.HolderCommitment
	second, err := iss.Issue(adultSubject(), again.req)
	if err != nil {
		t.Fatal(err)
	}
	if second.Wanghao != first.Wanghao {
		t.Fatal("re-issuance changed the 网号")
	}
	if st, _ := iss.Status(first.Serial); st != revocation.Revoked {
		t.Fatal("the first credential's leaf is live after re-issuance")
	}
	if st, _ := iss.Status(second.Serial); st != revocation.Valid {
		t.Fatal("the new credential is not live")
	}
	list := statusList(t, iss)
	for _, idx := range copyIndices(t, first) {
		if st, _ := list.Status(idx); st != revocation.Revoked {
			t.Fatalf("the first credential's copy %d is valid after re-issuance", idx)
		}
	}
	for _, idx := range copyIndices(t, second) {
		if st, _ := list.Status(idx); st != revocation.Valid {
			t.Fatalf("the new credential's copy %d is revoked", idx)
		}
	}

	// Another device: refused without the decision, nothing changed.
	lost := newHolder(t, 3)
	if _, err := iss.Issue(adultSubject(), lost.req); !errors.Is(err, ErrDeviceChanged) {
		t.Fatalf("another commitment: %v", err)
	}
	if st, _ := iss.Status(second.Serial); st != revocation.Valid {
		t.Fatal("a refused issuance revoked the live credential")
	}
	third, err := iss.IssueWithOptions(adultSubject(), lost.req, IssueOptions{ReplaceDevice: true})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := iss.Status(second.Serial); st != revocation.Revoked {
		t.Fatal("replacing the device left the old credential live")
	}
	log, err := iss.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "init,issue,reissue,replace-device" {
		t.Fatalf("audit actions %s", got)
	}
	// The new commitment is now the one on record.
	again3 := newHolder(t, 1)
	again3.req.HolderCommitment = lost.req.HolderCommitment
	if _, err := iss.Issue(adultSubject(), again3.req); err != nil {
		t.Fatalf("re-issuance under the replaced commitment: %v", err)
	}
	if st, _ := iss.Status(third.Serial); st != revocation.Revoked {
		t.Fatal("the replaced-device credential survived its re-issuance")
	}
}

// TestDeletionForgets: after deletion no file of the issuer directory
// (Badger's tables, logs and manifest, the record keys, the audit log, the
// public files) holds a value computable from the person's document number:
// the 网号, the person's database key, the old audit tag, the serials'
// database keys, the sealed record, or the record's key material.
func TestDeletionForgets(t *testing.T) {
	iss, dir := newTestIssuer(t, jose.SuiteGM)
	child := minorSubject("2014-01-01")
	h := newHolder(t, 2)
	b1, err := iss.Issue(child, h.req)
	if err != nil {
		t.Fatal(err)
	}
	again := newHolder(t, 2)
	again.req.HolderCommitment = h.req.HolderCommitment
	b2, err := iss.Issue(child, again.req) // re-issuance: two serials on record
	if err != nil {
		t.Fatal(err)
	}
	kept, err := iss.Issue(adultSubject(), newHolder(t, 1).req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Publish(); err != nil {
		t.Fatal(err)
	}
	pkey := personKey(iss.secret, b1.Wanghao)
	_, slot, err := iss.getPerson(pkey)
	if err != nil {
		t.Fatal(err)
	}
	keyMaterial := make([]byte, slotSize)
	if _, err := iss.keys.f.ReadAt(keyMaterial, int64(slot*slotSize)); err != nil {
		t.Fatal(err)
	}
	record := rawValue(t, iss, pkey)
	needles := map[string][]byte{
		"网号":                  []byte(b1.Wanghao),
		"person key":          pkey,
		"audit tag":           []byte(oldAuditTag(iss.secret, b1.Wanghao)),
		"sealed record":       record[len(record)-24:],
		"record key material": keyMaterial,
	}
	for _, s := range []uint64{b1.Serial, b2.Serial} {
		needles[fmt.Sprintf("serial %d key", s)] = serialKey(s)
		needles[fmt.Sprintf("serial %d JSON", s)] = fmt.Appendf(nil, `"serial":%d`, s)
	}
	// Before deletion the scan finds what it looks for (so it can fail).
	for _, what := range []string{"person key", "sealed record", "record key material", "serial " + strconv.FormatUint(b1.Serial, 10) + " key"} {
		if hits := grepDir(t, dir, needles[what]); len(hits) == 0 {
			t.Fatalf("%s not on disk before deletion: the scan would prove nothing", what)
		}
	}
	if _, err := iss.Delete(b1.Wanghao); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.keys.key(iss.dataKey, slot); !errors.Is(err, ErrRecordKeyDestroyed) {
		t.Fatalf("the record key after deletion: %v", err)
	}
	iss.Close()
	for what, n := range needles {
		if hits := grepDir(t, dir, n); len(hits) > 0 {
			t.Errorf("after deletion the %s is still in %v", what, hits)
		}
	}
	// The audit log holds no tag and no serial at all.
	iss2, err := open(dir, testPass, func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	defer iss2.Close()
	log, err := iss2.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(log)
	for _, bad := range []string{"subject", "serials", b1.Wanghao} {
		if bytes.Contains(raw, []byte(bad)) {
			t.Errorf("audit log holds %q: %s", bad, raw)
		}
	}
	if st, _ := iss2.Status(kept.Serial); st != revocation.Valid {
		t.Fatal("another person's credential was revoked")
	}
	if _, err := iss2.Delete(b1.Wanghao); !errors.Is(err, ErrUnknownWanghao) {
		t.Fatalf("deleting again: %v", err)
	}
}

// oldAuditTag is the keyed hash of the 网号 the audit log once recorded.
func oldAuditTag(secret []byte, wanghao string) string {
	mac := hmac.New(sm3.New, secret)
	mac.Write([]byte("yinzheng/issuer/audit\x00" + wanghao))
	return wanghaoEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// TestRecordKeysTornSlot: a slot torn by a crash is cut off at open.
func TestRecordKeysTornSlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, make([]byte, slotSize+5), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := openRecordKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if r.next != 1 {
		t.Fatalf("%d slots after a torn one", r.next)
	}
	if _, err := r.key(make([]byte, 32), 0); !errors.Is(err, ErrRecordKeyDestroyed) {
		t.Fatalf("a zero slot: %v", err)
	}
	if _, err := r.key(make([]byte, 32), 1); err == nil {
		t.Fatal("a slot beyond the file opened")
	}
	fi, _ := os.Stat(path)
	if fi.Size() != slotSize {
		t.Fatalf("file of %d bytes", fi.Size())
	}
}

// TestPublishWritesSpans: the publication that ends a span of 2^3 epochs
// writes the span's merged delta, which brings a path of the span's start to
// its end; no span is written before its end.
func TestPublishWritesSpans(t *testing.T) {
	iss, _ := newTestIssuer(t, jose.SuiteGM)
	b, err := iss.Issue(adultSubject(), newHolder(t, 1).req)
	if err != nil {
		t.Fatal(err)
	}
	for {
		e, err := iss.Publish()
		if err != nil {
			t.Fatal(err)
		}
		if e.Epoch == 7 {
			if _, err := iss.PublicFile(publication.SpanName(3, 0)); !errors.Is(err, publication.ErrNotFound) {
				t.Fatalf("span written before its end: %v", err)
			}
		}
		if e.Epoch == 8 {
			break
		}
	}
	data, err := iss.PublicFile(publication.SpanName(3, 0))
	if err != nil {
		t.Fatal(err)
	}
	var d revocation.Delta
	if err := d.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	latest, err := iss.acc.Root()
	if err != nil {
		t.Fatal(err)
	}
	if d.Epoch != 8 || !d.Root.Equal(&latest) {
		t.Fatalf("span ends at epoch %d", d.Epoch)
	}
	p, err := revocation.UpdatePath(bundlePath(t, b), &d)
	if err != nil || !p.Root.Equal(&latest) {
		t.Fatalf("the span does not bring the pending path to the latest root: %v", err)
	}
}
