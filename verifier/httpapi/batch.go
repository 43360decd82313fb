package httpapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/yinzheng-id/yinzheng/verifier"
)

// batchTimeout bounds one batch's verification (its store round trips and
// publication reads). A batch does not use any one client's context: a
// client that goes away must not cancel the others' verifications.
const batchTimeout = 30 * time.Second

// collector gathers concurrent wallet answers into batches. It verifies
// one batch at a time: an answer arriving while the collector is idle
// starts a batch of one at once (no wait), and answers arriving while a
// batch is being verified queue up and form the next batch, up to max. The
// batch size so follows the load: one under light load, many when answers
// pile up, which is when batching pays.
type collector struct {
	v   ResponseBatchVerifier
	max int

	mu    sync.Mutex
	queue []*job
	busy  bool
}

type job struct {
	item verifier.ResponseItem
	done chan verifier.BatchResult
}

// verify queues one answer and waits for its outcome.
func (c *collector) verify(item verifier.ResponseItem) (*verifier.Result, error) {
	j := &job{item: item, done: make(chan verifier.BatchResult, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, j)
	if !c.busy {
		c.busy = true
		go c.drain()
	}
	c.mu.Unlock()
	out := <-j.done
	return out.Result, out.Err
}

// drain verifies batches until the queue is empty.
func (c *collector) drain() {
	for {
		c.mu.Lock()
		n := min(len(c.queue), c.max)
		if n == 0 {
			c.busy = false
			c.mu.Unlock()
			return
		}
		batch := c.queue[:n:n]
		c.queue = c.queue[n:]
		if len(c.queue) == 0 {
			c.queue = nil // let the backing array go
		}
		c.mu.Unlock()
		c.run(batch)
	}
}

func (c *collector) run(batch []*job) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	items := make([]verifier.ResponseItem, len(batch))
	for i, j := range batch {
		items[i] = j.item
	}
	out := c.verifyResponses(ctx, items)
	if len(out) != len(batch) {
		err := fmt.Errorf("verifier service: a batch of %d answers gave %d outcomes", len(batch), len(out))
		out = make([]verifier.BatchResult, len(batch))
		for i := range out {
			out[i].Err = err
		}
	}
	for i, j := range batch {
		j.done <- out[i]
	}
}

// verifyResponses is c.v.VerifyResponses with a panic turned into an
// error for the whole batch (undecided: 503, the transactions left as the
// verifier left them). It runs on the collector's goroutine, where
// neither net/http's nor the server's recovery is: a panic reached by one
// crafted answer must not stop the service, and every replica with it.
func (c *collector) verifyResponses(ctx context.Context, items []verifier.ResponseItem) (out []verifier.BatchResult) {
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("verifier service: the verification of a batch of %d answers panicked: %v", len(items), r)
			out = make([]verifier.BatchResult, len(items))
			for i := range out {
				out[i].Err = err
			}
		}
	}()
	return c.v.VerifyResponses(ctx, items)
}
