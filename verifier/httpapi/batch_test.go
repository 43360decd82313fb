package httpapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/verifier"
)

// batchingFake is fakeVerifier with VerifyBatch: it records the batch
// sizes and takes 20 ms per batch, as a batch of proofs would.
type batchingFake struct {
	*fakeVerifier
	mu    sync.Mutex
	sizes []int
}

func (b *batchingFake) VerifyBatch(ctx context.Context, docs [][]byte) []verifier.BatchResult {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(docs))
	b.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	out := make([]verifier.BatchResult, len(docs))
	for i, d := range docs {
		out[i].Result, out[i].Err = b.Verify(ctx, d)
	}
	return out
}

// TestResponsesAreBatched: a lone response is verified at once, alone;
// concurrent ones are verified together, at most MaxBatch at a time, and
// each gets its own outcome.
func TestResponsesAreBatched(t *testing.T) {
	f := &batchingFake{fakeVerifier: &fakeVerifier{used: map[string]bool{}}}
	srv := httpserv.New(httpserv.Config{Rate: -1})
	if _, err := New(srv, f, Options{PublicURL: "https://verifier.example", MaxBatch: 8}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	start := time.Now()
	if status, res := post(t, ts.URL+"/response", "application/json", presentation("lone", "good")); status != 200 || res["valid"] != true {
		t.Fatalf("lone response: %d %v", status, res)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a lone response took %v", d)
	}
	if len(f.sizes) != 1 || f.sizes[0] != 1 {
		t.Fatalf("batches %v for a lone response, want [1]", f.sizes)
	}

	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			proof := "good"
			if i%3 == 0 {
				proof = "bad"
			}
			status, res := post(t, ts.URL+"/response", "application/json", presentation(fmt.Sprintf("r%d", i), proof))
			if want := proof == "good"; res["valid"] != want || (status == 200) != want {
				t.Errorf("response %d (%s): %d %v", i, proof, status, res)
			}
		}()
	}
	wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	total, biggest := 0, 0
	for _, s := range f.sizes[1:] {
		total += s
		biggest = max(biggest, s)
	}
	if total != n || biggest > 8 || biggest < 2 {
		t.Fatalf("batches %v: %d responses, largest %d; want %d in batches of 2…8", f.sizes[1:], total, biggest, n)
	}
}
