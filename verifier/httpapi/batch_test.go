package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/verifier"
)

// batchingFake is fakeTransactions with VerifyResponses: it records the
// batch sizes and takes 20 ms per batch, as a batch of proofs would.
type batchingFake struct {
	*fakeTransactions
	mu    sync.Mutex
	sizes []int
}

func (b *batchingFake) VerifyResponses(ctx context.Context, items []verifier.ResponseItem) []verifier.BatchResult {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(items))
	b.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	out := make([]verifier.BatchResult, len(items))
	for i, it := range items {
		out[i].Result, out[i].Err = b.VerifyResponse(ctx, it.State, it.VPToken, it.Expected)
	}
	return out
}

// TestResponsesAreBatched: on the platform service a lone answer is
// verified at once, alone; concurrent ones are verified together, at most
// MaxBatch at a time, and each transaction gets its own verdict. With
// MaxBatch 1 answers are verified one by one.
func TestResponsesAreBatched(t *testing.T) {
	f := &batchingFake{fakeTransactions: &fakeTransactions{}}
	srv, _ := newTestPlatformOn(t, f, 8)

	id := create(t, srv.URL)
	start := time.Now()
	if resp, body := call(t, "POST", srv.URL+ResponsePath, "", "application/x-www-form-urlencoded", answerForm(id, true)); resp.StatusCode != 200 {
		t.Fatalf("lone answer: %d %s", resp.StatusCode, body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a lone answer took %v", d)
	}
	if len(f.sizes) != 1 || f.sizes[0] != 1 || !verdictOf(t, srv.URL, id).Result.Valid {
		t.Fatalf("batches %v for a lone answer, want [1]", f.sizes)
	}

	const n = 40
	ids := make([]string, n)
	for i := range ids {
		ids[i] = create(t, srv.URL)
	}
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, body := call(t, "POST", srv.URL+ResponsePath, "", "application/x-www-form-urlencoded", answerForm(id, i%3 != 0)); resp.StatusCode != 200 {
				t.Errorf("answer %d: %d %s", i, resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if v := verdictOf(t, srv.URL, id); v.Status != "complete" || v.Result.Valid != (i%3 != 0) {
			t.Errorf("transaction %d: %+v", i, v)
		}
	}
	f.mu.Lock()
	total, biggest := 0, 0
	for _, s := range f.sizes[1:] {
		total += s
		biggest = max(biggest, s)
	}
	f.mu.Unlock()
	if total != n || biggest > 8 || biggest < 2 {
		t.Fatalf("batches %v: %d answers, largest %d; want %d in batches of 2…8", f.sizes[1:], total, biggest, n)
	}

	one := &batchingFake{fakeTransactions: &fakeTransactions{}}
	srv1, _ := newTestPlatformOn(t, one, 1)
	id = create(t, srv1.URL)
	if resp, _ := call(t, "POST", srv1.URL+ResponsePath, "", "application/x-www-form-urlencoded", answerForm(id, true)); resp.StatusCode != 200 ||
		len(one.sizes) != 0 || len(one.verified) != 1 {
		t.Fatalf("MaxBatch 1: %d, batches %v, verified %v", resp.StatusCode, one.sizes, one.verified)
	}
}

// panickingFake is batchingFake whose verification panics on the vp_token
// "panic", as a latent bug reached by one crafted answer would.
type panickingFake struct{ *batchingFake }

func (p panickingFake) VerifyResponses(ctx context.Context, items []verifier.ResponseItem) []verifier.BatchResult {
	for _, it := range items {
		if string(it.VPToken) == "panic" {
			panic("verifier bug reached by a crafted answer")
		}
	}
	return p.batchingFake.VerifyResponses(ctx, items)
}

// TestBatchPanic: a panic while a batch is verified runs on the
// collector's goroutine, which net/http's and the server's recovery do
// not cover: it must not take the process (every replica, if the answer
// is posted to each) down. The answers of that batch are undecided (503,
// the transaction left open) and the next batch is verified.
func TestBatchPanic(t *testing.T) {
	f := &batchingFake{fakeTransactions: &fakeTransactions{}}
	srv, _ := newTestPlatformOn(t, panickingFake{f}, 8)
	bad := create(t, srv.URL)
	form := url.Values{"vp_token": {"panic"}, "state": {bad}}.Encode()
	if resp, body := call(t, "POST", srv.URL+ResponsePath, "", "application/x-www-form-urlencoded", form); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("answer that panics: %d %s", resp.StatusCode, body)
	}
	if v := verdictOf(t, srv.URL, bad); v.Status != "pending" {
		t.Fatalf("transaction of the answer that panicked: %+v", v)
	}
	good := create(t, srv.URL)
	if resp, body := call(t, "POST", srv.URL+ResponsePath, "", "application/x-www-form-urlencoded", answerForm(good, true)); resp.StatusCode != 200 {
		t.Fatalf("next answer: %d %s", resp.StatusCode, body)
	}
	if v := verdictOf(t, srv.URL, good); !v.Result.Valid {
		t.Fatalf("next answer: %+v", v)
	}
}
