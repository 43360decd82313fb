package issuer

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// fakeClock is a settable clock for the scheduler tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// newClockedIssuer is newTestIssuer with a settable clock.
func newClockedIssuer(t *testing.T) (*Issuer, *fakeClock) {
	t.Helper()
	c := &fakeClock{t: testNow}
	dir := t.TempDir() + "/issuer"
	if err := Init(dir, testPass, Options{SkipCircuitKeys: true, KDF: fastKDF, Now: c.now}); err != nil {
		t.Fatal(err)
	}
	iss, err := open(dir, testPass, c.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iss.Close() })
	return iss, c
}

func issueN(t *testing.T, iss *Issuer, n int) []*Bundle {
	t.Helper()
	var out []*Bundle
	for range n {
		b, err := iss.Issue(otherAdult(), newHolder(t, 1).req)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestEpochBatchesChanges: issuances and revocations between two
// publications share one epoch, whose leaf count jumps by the batch, and
// every pending path of the batch is completed by that epoch's delta.
func TestEpochBatchesChanges(t *testing.T) {
	iss, _ := newClockedIssuer(t)
	latestBefore, err := iss.PublicFile(publication.LatestRootName)
	if err != nil {
		t.Fatal(err)
	}
	first := issueN(t, iss, 3)
	// Nothing was published by the issuances.
	if latest, _ := iss.PublicFile(publication.LatestRootName); string(latest) != string(latestBefore) {
		t.Fatal("an issuance rewrote the latest root")
	}
	for _, b := range first {
		if !b.Pending || b.Path.Epoch != first[0].Path.Epoch {
			t.Fatalf("bundle %d: pending %v epoch %d, want pending in epoch %d", b.Serial, b.Pending, b.Path.Epoch, first[0].Path.Epoch)
		}
	}
	if _, err := iss.PublicFile(publication.RootName(first[0].Path.Epoch)); !errors.Is(err, publication.ErrNotFound) {
		t.Fatalf("epoch %d exists before Publish: %v", first[0].Path.Epoch, err)
	}
	e1, err := iss.Publish()
	if err != nil {
		t.Fatal(err)
	}
	if e1.Epoch != first[0].Path.Epoch || e1.LeafCount != 3 {
		t.Fatalf("epoch %d with %d leaves, want epoch %d with 3", e1.Epoch, e1.LeafCount, first[0].Path.Epoch)
	}
	for _, b := range first {
		p, err := revocation.UpdatePath(bundlePath(t, b), publishedDelta(t, iss, e1.Epoch))
		if err != nil || !p.Root.Equal(&e1.Root) || p.Leaf.IsZero() {
			t.Fatalf("serial %d not completed by the epoch's delta: %v", b.Serial, err)
		}
	}

	// The next batch: two issuances, a revocation of the previous batch and
	// one of this batch.
	second := issueN(t, iss, 2)
	if err := iss.Revoke(first[1].Serial); err != nil {
		t.Fatal(err)
	}
	if err := iss.Revoke(second[0].Serial); err != nil {
		t.Fatal(err)
	}
	e2, err := iss.Publish()
	if err != nil {
		t.Fatal(err)
	}
	if e2.Epoch != e1.Epoch+1 || e2.LeafCount != 5 {
		t.Fatalf("epoch %d with %d leaves, want epoch %d with 5", e2.Epoch, e2.LeafCount, e1.Epoch+1)
	}
	d := publishedDelta(t, iss, e2.Epoch)
	if want := []uint64{first[1].Serial, second[0].Serial, second[1].Serial}; !slices.Equal(d.Serials, want) {
		t.Fatalf("epoch %d's delta changes serials %v, want %v", e2.Epoch, d.Serials, want)
	}
	for _, b := range second {
		p, err := revocation.UpdatePath(bundlePath(t, b), d)
		if err != nil || !p.Root.Equal(&e2.Root) {
			t.Fatalf("serial %d not completed by the epoch's delta: %v", b.Serial, err)
		}
		if revoked := b.Serial == second[0].Serial; p.Leaf.IsZero() != revoked {
			t.Fatalf("serial %d: empty leaf %v, revoked %v", b.Serial, p.Leaf.IsZero(), revoked)
		}
	}
}

// TestSchedulerTick: an epoch is due an interval after the last one; an
// interval without changes gets a heartbeat epoch (same root, same leaf
// count, an empty delta); one with changes carries them.
func TestSchedulerTick(t *testing.T) {
	iss, clock := newClockedIssuer(t)
	s := &EpochScheduler{Issuer: iss, Interval: time.Hour}
	due, err := s.Due()
	if err != nil || !due.Equal(testNow.Add(time.Hour)) {
		t.Fatalf("due %v, %v; want %v", due, err, testNow.Add(time.Hour))
	}
	if e, err := s.Tick(testNow.Add(59 * time.Minute)); e != nil || err != nil {
		t.Fatalf("tick before the interval: epoch %v, %v", e, err)
	}
	before := iss.latest

	clock.set(testNow.Add(time.Hour))
	hb, err := s.Tick(clock.now())
	if err != nil || hb == nil {
		t.Fatalf("tick at the interval: epoch %v, %v", hb, err)
	}
	if hb.Epoch != before.Epoch+1 || !hb.Root.Equal(&before.Root) || hb.LeafCount != before.LeafCount {
		t.Fatalf("heartbeat epoch %d (leaves %d) after epoch %d (leaves %d): want the next epoch, same root", hb.Epoch, hb.LeafCount, before.Epoch, before.LeafCount)
	}
	if d := publishedDelta(t, iss, hb.Epoch); len(d.Serials) != 0 {
		t.Fatalf("heartbeat delta changes %v", d.Serials)
	}
	st, err := revocation.VerifyRootStatement(hb.Statement, iss.PublicKey())
	if err != nil || !st.IssuedAt.Equal(clock.now()) {
		t.Fatalf("heartbeat statement issued at %v, %v: want a fresh root", st, err)
	}

	clock.set(testNow.Add(time.Hour + time.Minute))
	b := issueN(t, iss, 1)[0]
	if e, err := s.Tick(testNow.Add(90 * time.Minute)); e != nil || err != nil {
		t.Fatalf("tick mid-interval: epoch %v, %v", e, err)
	}
	clock.set(testNow.Add(2 * time.Hour))
	e, err := s.Tick(clock.now())
	if err != nil || e == nil || e.Epoch != b.Path.Epoch || e.LeafCount != hb.LeafCount+1 {
		t.Fatalf("tick after an issuance: epoch %+v, %v; want epoch %d with one more leaf", e, err, b.Path.Epoch)
	}
	iss.Close()
	if _, err := s.Tick(testNow.Add(5 * time.Hour)); !errors.Is(err, ErrClosed) {
		t.Fatalf("tick on a closed issuer: %v", err)
	}
}

// TestSchedulerRun: Run publishes an overdue epoch at once, then waits for
// the next interval, and stops with its context. The issuer's clock is
// fixed, so only the overdue epoch is ever due: no sleeping.
func TestSchedulerRun(t *testing.T) {
	iss, clock := newClockedIssuer(t)
	clock.set(testNow.Add(3 * time.Hour))
	published := make(chan *revocation.Epoch, 2)
	s := &EpochScheduler{Issuer: iss, Interval: time.Hour, Report: func(e *revocation.Epoch, err error) {
		if err != nil {
			t.Errorf("scheduler: %v", err)
		}
		published <- e
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	e := <-published
	if e == nil || e.Epoch != 2 {
		t.Fatalf("first scheduled epoch %+v, want epoch 2", e)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if len(published) != 0 || iss.latest.Epoch != 2 {
		t.Fatalf("Run published again before the next interval (latest epoch %d)", iss.latest.Epoch)
	}
}
