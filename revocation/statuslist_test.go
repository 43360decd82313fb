package revocation

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
)

const testListURI = "https://issuer.example/status/1"

func TestStatusListMatchesTree(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	s, _ := openTemp(t, 14)
	ref := newReference(14)
	for range 6 {
		b := randomBatch(rng, uint64(len(ref.leaves)), 1500, 300)
		if _, err := s.ApplyBatch(b); err != nil {
			t.Fatal(err)
		}
		ref.apply(b)
	}
	key := testKey(t, jose.SuiteGM)
	tok, err := s.StatusListToken(key, "https://issuer.example", testListURI, testNow)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseStatusListToken(tok, key.Public(), testListURI, testNow.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() < uint64(len(ref.leaves)) {
		t.Fatalf("list of %d entries for %d leaves", l.Len(), len(ref.leaves))
	}
	revoked := 0
	for serial := range uint64(len(ref.leaves)) {
		st, err := l.Status(serial)
		if err != nil {
			t.Fatal(err)
		}
		if (st == Revoked) != ref.revoked[serial] {
			t.Fatalf("serial %d: list says %v", serial, st)
		}
		// Both forms agree: a revoked serial has the empty leaf.
		if p := mustPath(t, s, serial); (st == Revoked) != p.Leaf.IsZero() {
			t.Fatalf("serial %d: list and tree disagree", serial)
		}
		if st == Revoked {
			revoked++
		}
	}
	if revoked < 100 {
		t.Fatalf("only %d revoked serials exercised", revoked)
	}
	if _, err := l.Status(l.Len()); err == nil {
		t.Fatal("index beyond the list accepted")
	}
}

// TestStatusListBitOrder checks the draft's layout: bit i at byte i/8,
// least significant bit first.
func TestStatusListBitOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	s, _ := openTemp(t, 8)
	if _, err := s.Append(randomLeaves(rng, 20)...); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(0, 9, 19); err != nil {
		t.Fatal(err)
	}
	bits, err := s.StatusBits()
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x01, 0x02, 0x08}; !bytes.Equal(bits, want) {
		t.Fatalf("status bytes %x, want %x", bits, want)
	}
}

func TestStatusListTokenRejects(t *testing.T) {
	key := testKey(t, jose.SuiteGM)
	other := testKey(t, jose.SuiteGM)
	zl := func(b []byte) string {
		var z bytes.Buffer
		w := zlib.NewWriter(&z)
		w.Write(b)
		w.Close()
		return base64.RawURLEncoding.EncodeToString(z.Bytes())
	}
	mk := func(typ string, p statusListPayload) string {
		payload, _ := json.Marshal(p)
		tok, err := jose.Sign(key, map[string]any{"typ": typ}, payload)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := statusListPayload{Sub: testListURI, Iat: testNow.Unix(), Exp: testNow.Add(time.Hour).Unix(), StatusList: statusListJSON{Bits: 1, Lst: zl([]byte{1})}}
	if _, err := ParseStatusListToken(mk(StatusListType, good), key.Public(), testListURI, testNow); err != nil {
		t.Fatalf("good token: %v", err)
	}
	change := func(f func(p *statusListPayload)) statusListPayload { p := good; f(&p); return p }
	cases := map[string]string{
		"typ":        mk("JWT", good),
		"other sub":  mk(StatusListType, change(func(p *statusListPayload) { p.Sub = "https://elsewhere" })),
		"no iat":     mk(StatusListType, change(func(p *statusListPayload) { p.Iat = 0 })),
		"expired":    mk(StatusListType, change(func(p *statusListPayload) { p.Exp = testNow.Unix() })),
		"2 bits":     mk(StatusListType, change(func(p *statusListPayload) { p.StatusList.Bits = 2 })),
		"not base64": mk(StatusListType, change(func(p *statusListPayload) { p.StatusList.Lst = "!!" })),
		"not zlib":   mk(StatusListType, change(func(p *statusListPayload) { p.StatusList.Lst = "AAAA" })),
		"cut zlib":   mk(StatusListType, change(func(p *statusListPayload) { p.StatusList.Lst = zl(make([]byte, 100))[:6] })),
		"wrong key": func() string {
			p, _ := json.Marshal(good)
			tk, _ := jose.Sign(other, map[string]any{"typ": StatusListType}, p)
			return tk
		}(),
		"not a token": "x.y.z",
	}
	for name, tok := range cases {
		if _, err := ParseStatusListToken(tok, key.Public(), testListURI, testNow); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
