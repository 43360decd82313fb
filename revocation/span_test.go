package revocation

import (
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/yinzheng-id/yinzheng/jose"
)

// TestMergeDeltasBringsAnyPathOfTheSpan: a path of any epoch inside the
// span (and of the epoch before it) is brought by the merged delta to the
// root of the span's end; a merge of non-consecutive deltas is refused.
func TestMergeDeltasBringsAnyPathOfTheSpan(t *testing.T) {
	s, err := Open(t.TempDir(), Options{Depth: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func() fr.Element { var e fr.Element; e.SetRandom(); return e }
	if _, err := s.Append(leaf(), leaf(), leaf()); err != nil {
		t.Fatal(err)
	}
	first, err := s.Publish(key, "https://i.example", time.Date(2026, 6, 15, 2, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	paths := map[uint64]*Path{}
	p, _ := s.Path(1)
	paths[first.Epoch] = p
	var ds []*Delta
	for e := range 5 {
		if _, err := s.Append(leaf(), leaf()); err != nil {
			t.Fatal(err)
		}
		if e%2 == 0 {
			if err := s.Revoke(uint64(2 + e)); err != nil {
				t.Fatal(err)
			}
		}
		ep, err := s.Publish(key, "https://i.example", time.Date(2026, 6, 15, 2, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.Delta(ep.Epoch)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
		if p, err := s.Path(1); err == nil {
			paths[ep.Epoch] = p
		}
	}
	m, err := MergeDeltas(ds)
	if err != nil {
		t.Fatal(err)
	}
	last := ds[len(ds)-1]
	for e, p := range paths {
		if e == last.Epoch {
			continue
		}
		got, err := UpdatePath(p, m)
		if err != nil {
			t.Fatalf("path of epoch %d: %v", e, err)
		}
		if !got.Root.Equal(&last.Root) {
			t.Fatalf("path of epoch %d: wrong root", e)
		}
	}
	if _, err := MergeDeltas([]*Delta{ds[0], ds[2]}); err == nil {
		t.Fatal("a merge with a gap was accepted")
	}
	// Without the middle deltas the merge is not the span's: the old path
	// does not reach the root.
	short, err := MergeDeltas(ds[3:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UpdatePath(paths[first.Epoch], short); err == nil {
		t.Fatal("a merge missing the span's first changes brought an old path to the root")
	}
}
