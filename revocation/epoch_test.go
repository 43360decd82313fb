package revocation

import (
	"bytes"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/dgraph-io/badger/v4"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/jose"
)

func testKey(t testing.TB, suite jose.Suite) *jose.PrivateKey {
	t.Helper()
	k, err := jose.GenerateKey(suite, crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var testNow = time.Date(2026, 7, 15, 8, 0, 0, 0, time.UTC)

// TestHoldersFollowDeltas runs random appends and revocations over many
// epochs. Every holder keeps its path fresh with the epoch's delta alone
// (after a binary round trip); the result must equal the store's path and
// fold to the signed root.
func TestHoldersFollowDeltas(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	s, _ := openTemp(t, 10)
	key := testKey(t, jose.SuiteGM)
	ref := newReference(10)
	holders := map[uint64]*Path{}
	for epoch := uint64(1); epoch <= 25; epoch++ {
		for range rng.IntN(4) {
			b := randomBatch(rng, uint64(len(ref.leaves)), 12, 6)
			if _, err := s.ApplyBatch(b); err != nil {
				t.Fatal(err)
			}
			ref.apply(b)
		}
		e, err := s.Publish(key, "https://issuer.example", testNow)
		if err != nil {
			t.Fatal(err)
		}
		if e.Epoch != epoch {
			t.Fatalf("published epoch %d, want %d", e.Epoch, epoch)
		}
		stmt, err := VerifyRootStatement(e.Statement, key.Public())
		if err != nil {
			t.Fatal(err)
		}
		if want := ref.root(); !stmt.Root.Equal(&want) || stmt.Epoch != epoch || stmt.LeafCount != uint64(len(ref.leaves)) {
			t.Fatalf("epoch %d: statement does not match the reference", epoch)
		}
		d, err := s.Delta(epoch)
		if err != nil {
			t.Fatal(err)
		}
		bin, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Delta
		if err := got.UnmarshalBinary(bin); err != nil {
			t.Fatal(err)
		}
		if !got.Root.Equal(&stmt.Root) {
			t.Fatal("delta root differs from the signed root")
		}
		for serial, p := range holders {
			np, err := UpdatePath(p, &got)
			if err != nil {
				t.Fatalf("epoch %d serial %d: %v", epoch, serial, err)
			}
			want, err := s.Path(serial)
			if err != nil {
				t.Fatal(err)
			}
			if !samePath(np, want) {
				t.Fatalf("epoch %d serial %d: delta-updated path differs from the store's", epoch, serial)
			}
			holders[serial] = np
		}
		// New holders join with the path at this epoch.
		for serial := range uint64(len(ref.leaves)) {
			if _, ok := holders[serial]; !ok && rng.IntN(3) == 0 {
				p, err := s.Path(serial)
				if err != nil {
					t.Fatal(err)
				}
				holders[serial] = p
			}
		}
	}
	if len(holders) < 50 {
		t.Fatalf("only %d holders exercised", len(holders))
	}
	hist, err := s.RootHistory()
	if err != nil || len(hist) != 25 {
		t.Fatalf("history of %d epochs (%v), want 25", len(hist), err)
	}
	for i, e := range hist {
		if e.Epoch != uint64(i+1) {
			t.Fatalf("history entry %d is epoch %d", i, e.Epoch)
		}
	}
}

func samePath(a, b *Path) bool {
	if a.Serial != b.Serial || !a.Leaf.Equal(&b.Leaf) || !a.Root.Equal(&b.Root) || len(a.Siblings) != len(b.Siblings) {
		return false
	}
	for i := range a.Siblings {
		if !a.Siblings[i].Equal(&b.Siblings[i]) {
			return false
		}
	}
	return true
}

func TestUpdatePathRejectsWrongDelta(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	s, _ := openTemp(t, 8)
	key := testKey(t, jose.SuiteIntl)
	s.Append(randomLeaves(rng, 20)...)
	s.Publish(key, "iss", testNow)
	p, _ := s.Path(3)
	s.Revoke(7, 12)
	s.Publish(key, "iss", testNow)
	s.Revoke(4)
	s.Publish(key, "iss", testNow)
	d3, _ := s.Delta(3)
	if _, err := UpdatePath(p, d3); err == nil {
		t.Error("skipping epoch 2's delta went unnoticed")
	}
	d2, _ := s.Delta(2)
	tampered := *d2
	tampered.Levels = append([][]fr.Element(nil), d2.Levels...)
	// Serials 7 and 12 changed; holder 3's sibling at height 2 is node
	// (2, 1), the first node of that height in the delta.
	tampered.Levels[2] = []fr.Element{tampered.Levels[2][0], tampered.Levels[2][1]}
	tampered.Levels[2][0].SetUint64(99)
	tampered.rank = nil
	if _, err := UpdatePath(p, &tampered); err == nil {
		t.Error("tampered delta accepted")
	}
	if _, err := UpdatePath(&Path{Serial: 3, Siblings: make([]fr.Element, 9)}, d2); err == nil {
		t.Error("path of another depth accepted")
	}
	if _, err := UpdatePath(&Path{Serial: 30, Siblings: make([]fr.Element, 8)}, d2); !errors.Is(err, ErrUnknownSerial) {
		t.Errorf("serial beyond the leaf count: %v", err)
	}
	if _, err := s.Delta(4); !errors.Is(err, ErrUnknownEpoch) {
		t.Errorf("delta of an unpublished epoch: %v", err)
	}
	if _, err := s.Delta(0); !errors.Is(err, ErrUnknownEpoch) {
		t.Errorf("delta of epoch 0: %v", err)
	}
}

func TestDeltaDecodeRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	s, _ := openTemp(t, 8)
	key := testKey(t, jose.SuiteGM)
	s.Append(randomLeaves(rng, 20)...)
	s.Revoke(3, 9)
	s.Publish(key, "iss", testNow)
	d, _ := s.Delta(1)
	good, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var ok Delta
	if err := ok.UnmarshalBinary(good); err != nil {
		t.Fatal(err)
	}
	rootAt := 4 + 1 + 1 + 1 + 1 // magic, version, depth, epoch 1, leaf count 20
	nAt := rootAt + 32
	modulus := fr.Modulus().FillBytes(make([]byte, 32))
	cases := map[string][]byte{
		"empty":           nil,
		"magic":           append([]byte("YZRX"), good[4:]...),
		"version":         with(good, 4, 2),
		"depth 0":         with(good, 5, 0),
		"depth 99":        with(good, 6-1, 99),
		"truncated":       good[:len(good)-1],
		"trailing":        append(bytes.Clone(good), 0),
		"root modulus":    append(append(bytes.Clone(good[:rootAt]), modulus...), good[nAt:]...),
		"count too big":   append(append(bytes.Clone(good[:nAt]), 0xff, 0xff, 0xff, 0x0f), good[nAt+1:]...),
		"serial repeat":   with(good, nAt+2, 0), // second serial gap 0
		"leaf count":      with(good, rootAt-1, 5),
		"header only":     good[:nAt],
		"varint overlong": append(bytes.Clone(good[:6]), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
	}
	for name, data := range cases {
		var d Delta
		if err := d.UnmarshalBinary(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A flipped byte in a node decodes but cannot bring a path to the root.
	// The delta ends with the nodes of heights 7, 6, 5 (one each) and 4
	// (indices 0 and 1); node (4, 1) is serial 3's sibling.
	flipped := bytes.Clone(good)
	flipped[len(flipped)-3*32-5] ^= 1
	var fd Delta
	if err := fd.UnmarshalBinary(flipped); err == nil {
		p, _ := s.Path(3)
		if _, err := UpdatePath(p, &fd); err == nil {
			t.Error("delta with a flipped node byte accepted")
		}
	}
	if _, err := UpdatePath(func() *Path { p, _ := s.Path(3); return p }(), &ok); err != nil {
		t.Errorf("the untouched delta: %v", err)
	}
}

func with(b []byte, i int, v byte) []byte {
	out := bytes.Clone(b)
	out[i] = v
	return out
}

func TestRootStatementRejects(t *testing.T) {
	key := testKey(t, jose.SuiteGM)
	other := testKey(t, jose.SuiteGM)
	sign := func(header map[string]any, payload string) string {
		jws, err := jose.Sign(key, header, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return jws
	}
	root := zkhash.FormatElement(zkhash.EmptyRoots(4)[4])
	typ := map[string]any{"typ": RootStatementType}
	good := `{"iss":"i","epoch":1,"root":"` + root + `","leaf_count":0,"iat":1}`
	if _, err := VerifyRootStatement(sign(typ, good), key.Public()); err != nil {
		t.Fatalf("good statement: %v", err)
	}
	cases := map[string]string{
		"typ":           sign(map[string]any{"typ": "JWT"}, good),
		"no typ":        sign(map[string]any{}, good),
		"other key":     func() string { j, _ := jose.Sign(other, typ, []byte(good)); return j }(),
		"no iss":        sign(typ, `{"epoch":1,"root":"`+root+`","leaf_count":0,"iat":1}`),
		"epoch 0":       sign(typ, `{"iss":"i","epoch":0,"root":"`+root+`","leaf_count":0,"iat":1}`),
		"no iat":        sign(typ, `{"iss":"i","epoch":1,"root":"`+root+`","leaf_count":0}`),
		"bad root":      sign(typ, `{"iss":"i","epoch":1,"root":"0x12","leaf_count":0,"iat":1}`),
		"unknown field": sign(typ, `{"iss":"i","epoch":1,"root":"`+root+`","leaf_count":0,"iat":1,"x":1}`),
		"trailing":      sign(typ, good+`{}`),
		"not json":      sign(typ, `root`),
		"garbage":       "a.b.c",
	}
	for name, jws := range cases {
		if _, err := VerifyRootStatement(jws, key.Public()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := VerifyRootStatement(sign(typ, good), other.Public()); err == nil || !strings.Contains(err.Error(), "root statement") {
		t.Errorf("wrong key: %v", err)
	}
}

func TestPublishRequiresIssuer(t *testing.T) {
	s, _ := openTemp(t, 4)
	if _, err := s.Publish(testKey(t, jose.SuiteGM), "", testNow); err == nil {
		t.Fatal("published without an issuer")
	}
}

func TestPathJSONRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	s, _ := openTemp(t, 8)
	s.Append(randomLeaves(rng, 9)...)
	p, _ := s.Path(5)
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got Path
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !samePath(&got, p) || got.LeafCount != 9 {
		t.Fatal("path JSON round trip differs")
	}
	bad := strings.Replace(string(data), `"serial":5`, `"serial":4`, 1)
	if err := json.Unmarshal([]byte(bad), &got); err == nil {
		t.Error("path JSON with the wrong serial accepted")
	}
	if err := json.Unmarshal([]byte(`{"serial":1,"leaf":"0x1","siblings":[],"root":"0x1"}`), &got); err == nil {
		t.Error("path JSON without siblings accepted")
	}
}

func TestPruneDeltas(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	s, _ := openTemp(t, 8)
	key := testKey(t, jose.SuiteGM)
	for range 3 {
		s.Append(randomLeaves(rng, 5)...)
		s.Append(randomLeaves(rng, 5)...)
		if _, err := s.Publish(key, "iss", testNow); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PruneDeltas(4); !errors.Is(err, ErrUnknownEpoch) {
		t.Fatalf("pruning beyond the last epoch: %v", err)
	}
	if err := s.PruneDeltas(2); err != nil {
		t.Fatal(err)
	}
	for _, e := range []uint64{1, 2} {
		if _, err := s.Delta(e); !errors.Is(err, ErrDeltaPruned) {
			t.Errorf("delta of pruned epoch %d: %v", e, err)
		}
	}
	d, err := s.Delta(3)
	if err != nil || len(d.Serials) != 10 {
		t.Fatalf("delta of epoch 3 after pruning 1-2: %v", err)
	}
	var left int
	s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixDelta}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			left++
		}
		return nil
	})
	if left != 2 {
		t.Fatalf("%d batch deltas left, want the 2 of epoch 3", left)
	}
	if err := s.PruneDeltas(1); err != nil {
		t.Fatalf("pruning an already pruned epoch: %v", err)
	}
	if _, err := s.Delta(2); !errors.Is(err, ErrDeltaPruned) {
		t.Error("pruning through 1 after 2 brought epoch 2 back")
	}
}
