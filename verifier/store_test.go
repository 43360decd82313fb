package verifier

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/redistest"
)

// storeContract checks what every Store must do; each check gets a store
// with nothing in it.
func storeContract(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	t.Run("put get consume", func(t *testing.T) {
		s := open(t)
		if err := s.PutRequest(ctx, "r1", []byte("doc"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.PutRequest(ctx, "r1", []byte("other"), time.Minute); err == nil || errors.Is(err, ErrStoreUnavailable) {
			t.Fatalf("second put of one id: %v, want a refusal that is not an outage", err)
		}
		if doc, err := s.GetRequest(ctx, "r1"); err != nil || string(doc) != "doc" {
			t.Fatalf("get: %q %v", doc, err)
		}
		if _, err := s.GetVerdict(ctx, "r1"); !errors.Is(err, ErrUnknownRequest) {
			t.Fatalf("verdict before the decision: %v", err)
		}
		if err := s.ConsumeRequest(ctx, "r1", []byte("verdict"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetRequest(ctx, "r1"); !errors.Is(err, ErrUnknownRequest) {
			t.Fatalf("get after consume: %v", err)
		}
		if err := s.ConsumeRequest(ctx, "r1", []byte("again"), time.Minute); !errors.Is(err, ErrUnknownRequest) {
			t.Fatalf("second consume: %v", err)
		}
		if v, err := s.GetVerdict(ctx, "r1"); err != nil || string(v) != "verdict" {
			t.Fatalf("verdict: %q %v (the refused second consume must not overwrite it)", v, err)
		}
		if err := s.ConsumeRequest(ctx, "never", []byte("v"), time.Minute); !errors.Is(err, ErrUnknownRequest) {
			t.Fatalf("consume of an unknown id: %v", err)
		}
		if _, err := s.GetVerdict(ctx, "never"); !errors.Is(err, ErrUnknownRequest) {
			t.Fatalf("a refused consume wrote a verdict: %v", err)
		}
	})
	t.Run("concurrent consumes", func(t *testing.T) {
		s := open(t)
		const ids, racers = 20, 8
		for i := range ids {
			if err := s.PutRequest(ctx, "c"+string(rune('a'+i)), []byte("d"), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		var won [ids]atomic.Int32
		var wg sync.WaitGroup
		for range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range ids {
					err := s.ConsumeRequest(ctx, "c"+string(rune('a'+i)), []byte("v"), time.Minute)
					if err == nil {
						won[i].Add(1)
					} else if !errors.Is(err, ErrUnknownRequest) {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		for i := range ids {
			if n := won[i].Load(); n != 1 {
				t.Errorf("request %d consumed %d times", i, n)
			}
		}
	})
	t.Run("expiry", func(t *testing.T) {
		s := open(t)
		if err := s.PutRequest(ctx, "short", []byte("d"), time.Second); err != nil {
			t.Fatal(err)
		}
		if err := s.PutRequest(ctx, "gone", []byte("d"), time.Second); err != nil {
			t.Fatal(err)
		}
		if err := s.ConsumeRequest(ctx, "gone", []byte("v"), time.Second); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err1 := s.GetRequest(ctx, "short")
			_, err2 := s.GetVerdict(ctx, "gone")
			if errors.Is(err1, ErrUnknownRequest) && errors.Is(err2, ErrUnknownRequest) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not expired after 5 s: request %v, verdict %v", err1, err2)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := s.ConsumeRequest(ctx, "short", []byte("v"), time.Minute); !errors.Is(err, ErrUnknownRequest) {
			t.Fatalf("consumed an expired request: %v", err)
		}
	})
	t.Run("marks", func(t *testing.T) {
		s := open(t)
		u := func(v uint64) *uint64 { return &v }
		i := func(v int64) *int64 { return &v }
		const iss = "https://issuer.example"
		if err := s.AdvanceMarks(ctx, iss, u(5), i(1000)); err != nil {
			t.Fatal(err)
		}
		if err := s.AdvanceMarks(ctx, iss, u(4), nil); !errors.Is(err, ErrRolledBack) {
			t.Fatalf("epoch back: %v", err)
		}
		if err := s.AdvanceMarks(ctx, iss, nil, i(999)); !errors.Is(err, ErrRolledBack) {
			t.Fatalf("status list back: %v", err)
		}
		// A refusal writes nothing: the epoch of a call refused for its
		// status list is not raised.
		if err := s.AdvanceMarks(ctx, iss, u(9), i(10)); !errors.Is(err, ErrRolledBack) {
			t.Fatalf("status list back with an epoch up: %v", err)
		}
		if err := s.AdvanceMarks(ctx, iss, u(8), nil); err != nil {
			t.Fatalf("epoch 8 after a refused 9: %v (the refused call wrote its epoch)", err)
		}
		if err := s.AdvanceMarks(ctx, iss, u(8), i(1000)); err != nil {
			t.Fatalf("the same marks again: %v", err)
		}
		if err := s.AdvanceMarks(ctx, iss, u(7), nil); !errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "epoch 8") {
			t.Fatalf("epoch 7 after 8: %v", err)
		}
		// Marks are per issuer; large values compare exactly.
		if err := s.AdvanceMarks(ctx, "https://other.example", u(1<<62+1), i(1<<40)); err != nil {
			t.Fatal(err)
		}
		if err := s.AdvanceMarks(ctx, "https://other.example", u(1<<62), nil); !errors.Is(err, ErrRolledBack) {
			t.Fatalf("2^62 after 2^62+1: %v", err)
		}
		if err := s.AdvanceMarks(ctx, "https://other.example", nil, i(1<<40-1)); !errors.Is(err, ErrRolledBack) {
			t.Fatalf("issue time 2^40-1 after 2^40: %v", err)
		}
		// Concurrent advances end at the highest, never lower.
		var wg sync.WaitGroup
		for e := range uint64(20) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.AdvanceMarks(ctx, "https://race.example", u(e), nil); err != nil && !errors.Is(err, ErrRolledBack) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if err := s.AdvanceMarks(ctx, "https://race.example", u(18), nil); !errors.Is(err, ErrRolledBack) {
			t.Fatalf("after concurrent advances to 19, 18: %v", err)
		}
	})
	t.Run("ping", func(t *testing.T) {
		if err := open(t).Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBadgerStore(t *testing.T) {
	storeContract(t, func(t *testing.T) Store {
		s, err := OpenBadgerStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestRedisStore(t *testing.T) {
	srv := redistest.New(t)
	db := 0
	storeContract(t, func(t *testing.T) Store {
		// A database of its own per check: nothing in it.
		db++
		s, err := OpenRedisStore(strings.TrimSuffix(srv.URL(), "/0")+"/"+itoa(db), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func itoa(i int) string { return strconv.Itoa(i) }
