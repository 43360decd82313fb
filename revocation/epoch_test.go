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

// mustPublish publishes an epoch for a test's setup, failing t if it cannot.
func mustPublish(t testing.TB, s *Store, key *jose.PrivateKey, issuer string) *Epoch {
	t.Helper()
	e, err := s.Publish(key, issuer, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// mustDelta returns an epoch's delta, failing t if it cannot.
func mustDelta(t testing.TB, s *Store, epoch uint64) *Delta {
	t.Helper()
	d, err := s.Delta(epoch)
	if err != nil {
		t.Fatalf("delta of epoch %d: %v", epoch, err)
	}
	return d
}

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
	if _, err := s.Append(randomLeaves(rng, 20)...); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, s, key, "iss")
	p := mustPath(t, s, 3)
	if err := s.Revoke(7, 12); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, s, key, "iss")
	if err := s.Revoke(4); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, s, key, "iss")
	d3 := mustDelta(t, s, 3)
	if _, err := UpdatePath(p, d3); err == nil {
		t.Error("skipping epoch 2's delta went unnoticed")
	}
	d2 := mustDelta(t, s, 2)
	tampered := *d2
	tampered.Levels = append([][]fr.Element(nil), d2.Levels...)
	// Serials 7 and 12 changed; holder 3's siblings at level 1 are nodes
	// (1, 1), (1, 2) and (1, 3), and the delta carries (1, 1) and (1, 3).
	if got := tampered.Indices(1); len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("delta of epoch 2 carries level-1 nodes %v, want [1 3]", got)
	}
	tampered.Levels[1] = []fr.Element{tampered.Levels[1][0], tampered.Levels[1][1]}
	tampered.Levels[1][0].SetUint64(99)
	tampered.rank = nil
	if _, err := UpdatePath(p, &tampered); err == nil {
		t.Error("tampered delta accepted")
	}
	if _, err := UpdatePath(p, d2); err != nil {
		t.Errorf("the untampered delta of epoch 2: %v", err)
	}
	for _, n := range []int{9, 11, 13, 15} {
		if _, err := UpdatePath(&Path{Serial: 3, Siblings: make([]fr.Element, n)}, d2); err == nil || !strings.Contains(err.Error(), "needs 12") {
			t.Errorf("path of %d siblings: %v", n, err)
		}
	}
	if _, err := UpdatePath(&Path{Serial: 30, Siblings: make([]fr.Element, 12)}, d2); !errors.Is(err, ErrUnknownSerial) {
		t.Errorf("serial beyond the leaf count: %v", err)
	}
	odd := *d2
	odd.Depth = 7
	if _, err := UpdatePath(p, &odd); err == nil || !strings.Contains(err.Error(), "even") {
		t.Errorf("delta of odd depth: %v", err)
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
	if _, err := s.Append(randomLeaves(rng, 20)...); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(3, 9); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, s, key, "iss")
	d := mustDelta(t, s, 1)
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
		"version 1":       with(good, 4, 1),
		"version 3":       with(good, 4, 3),
		"depth 0":         with(good, 5, 0),
		"depth odd":       with(good, 5, 9),
		"depth 50":        with(good, 5, 50),
		"depth 99":        with(good, 5, 99),
		"truncated":       good[:len(good)-1],
		"trailing":        append(bytes.Clone(good), 0),
		"root modulus":    append(append(bytes.Clone(good[:rootAt]), modulus...), good[nAt:]...),
		"count too big":   append(append(bytes.Clone(good[:nAt]), 0xff, 0xff, 0xff, 0x0f), good[nAt+1:]...),
		"serial repeat":   with(good, nAt+2, 0), // second serial gap 0
		"leaf count":      with(good, rootAt-1, 5),
		"header only":     good[:nAt],
		"varint overlong": append(bytes.Clone(good[:6]), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
		"count padded":    append(append(bytes.Clone(good[:nAt]), 0x94, 0x00), good[nAt+1:]...), // 20 as two bytes
		"level 1 short":   good[:len(good)-32-2*32-32],
	}
	if good[nAt] != 20 {
		t.Fatalf("serial count byte is %d, want 20", good[nAt])
	}
	for name, data := range cases {
		var d Delta
		if err := d.UnmarshalBinary(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The delta ends with the nodes of level 1 (indices 0…4), level 2
	// (0, 1) and level 3 (0). Node (2, 1) is serial 3's first sibling at
	// level 2: a flipped bit in it decodes but cannot fold to the root.
	flipped := bytes.Clone(good)
	flipped[len(flipped)-32-1] ^= 1
	var fd Delta
	if err := fd.UnmarshalBinary(flipped); err != nil {
		t.Fatalf("flipping the low bit of node (2, 1): %v", err)
	}
	p := mustPath(t, s, 3)
	if _, err := UpdatePath(p, &fd); err == nil {
		t.Error("delta with a flipped node byte accepted")
	}
	if _, err := UpdatePath(func() *Path { p := mustPath(t, s, 3); return p }(), &ok); err != nil {
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
	root := zkhash.FormatElement(zkhash.EmptyRoots(2)[2])
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
	if _, err := s.Append(randomLeaves(rng, 9)...); err != nil {
		t.Fatal(err)
	}
	p := mustPath(t, s, 5)
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
	// A sibling count that is not a whole number of levels, or more than
	// MaxDepth/2 levels, is refused before folding.
	var j map[string]any
	json.Unmarshal(data, &j)
	sibs := j["siblings"].([]any)
	for _, n := range []int{len(sibs) - 1, len(sibs) + 1, 75} {
		edited := map[string]any{}
		for k, v := range j {
			edited[k] = v
		}
		list := make([]any, n)
		for i := range list {
			list[i] = sibs[i%len(sibs)]
		}
		edited["siblings"] = list
		bad, _ := json.Marshal(edited)
		if err := json.Unmarshal(bad, &got); err == nil || !strings.Contains(err.Error(), "multiple of 3") {
			t.Errorf("path JSON of %d siblings: %v", n, err)
		}
	}
}

func TestPruneDeltas(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	s, _ := openTemp(t, 8)
	key := testKey(t, jose.SuiteGM)
	for range 3 {
		if _, err := s.Append(randomLeaves(rng, 5)...); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(randomLeaves(rng, 5)...); err != nil {
			t.Fatal(err)
		}
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

// TestUpdatePathEachSiblingSlot revokes, one epoch at a time, a serial whose
// ancestor is the holder's sibling in slot 0, 1 and 2 of a level (the other
// member of the holder's pair, then the other pair left to right). Exactly
// that sibling must change, to the store's new value.
func TestUpdatePathEachSiblingSlot(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	s, _ := openTemp(t, 8)
	key := testKey(t, jose.SuiteGM)
	if _, err := s.Append(randomLeaves(rng, 200)...); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, s, key, "iss")
	const holder = 22 // level 0: position 2 of 20…23; level 1: node 5, position 1 of 4…7
	for _, tc := range []struct {
		revoke uint64
		slot   int // index into the path's siblings: 3·level + slot
	}{
		{23, 0},   // level 0, the other member of the pair {22, 23}
		{20, 1},   // level 0, the other pair {20, 21}, left
		{21, 2},   // level 0, the other pair, right
		{17, 3},   // level 1: node 4 (serials 16…19), the pair of node 5
		{25, 4},   // level 1: node 6 (24…27)
		{30, 5},   // level 1: node 7 (28…31)
		{5, 6},    // level 2: node 0 (0…15); the holder is node 1 (16…31)
		{40, 7},   // level 2: node 2 (32…47)
		{50, 8},   // level 2: node 3 (48…63)
		{70, 9},   // level 3: node 1 (64…127); the holder is node 0
		{130, 10}, // level 3: node 2 (128…191)
		{195, 11}, // level 3: node 3 (192…255)
	} {
		before, err := s.Path(holder)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Revoke(tc.revoke); err != nil {
			t.Fatal(err)
		}
		e, err := s.Publish(key, "iss", testNow)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.Delta(e.Epoch)
		if err != nil {
			t.Fatal(err)
		}
		got, err := UpdatePath(before, d)
		if err != nil {
			t.Fatalf("revoking %d: %v", tc.revoke, err)
		}
		want := mustPath(t, s, holder)
		if !samePath(got, want) {
			t.Fatalf("revoking %d: updated path differs from the store's", tc.revoke)
		}
		for i := range got.Siblings {
			if changed := !got.Siblings[i].Equal(&before.Siblings[i]); changed != (i == tc.slot) {
				t.Fatalf("revoking %d: sibling %d changed=%v, want only sibling %d to change", tc.revoke, i, changed, tc.slot)
			}
		}
	}
}
