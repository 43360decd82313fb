package holder

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// The refresh simulation's workload: one epoch a minute, 10^5 issuances and
// 10^3 revocations a day.
const (
	simEpochsPerDay      = 24 * 60
	simIssuancesPerDay   = 100_000
	simRevocationsPerDay = 1_000
)

// TestRefreshFallbackSimulation measures how often a wallet falls back to a
// bucket (the one refresh that tells the issuer something: which 4^BucketK
// serials the holder is among) at one epoch a minute. Assumptions: the
// issuer keeps every epoch delta and span delta (it never prunes them:
// issuer.Publish writes them to public/ for good); a wallet refreshes
// hourly in the background when online and always just before proving; its
// gaps between refreshes are drawn from a mixed population: 60% an hour,
// 30% up to a day, 9% up to a week, 1% up to 90 days (a phone left in a
// drawer). A wallet falls back when it would need more than MaxDeltas files.
// Run with -v for the figures.
func TestRefreshFallbackSimulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const wallets = 100_000
	const startDay = 400 // the issuer has been running for 400 days
	base := uint64(startDay * simEpochsPerDay)
	gaps := []struct {
		name  string
		share float64
		max   uint64 // epochs
	}{
		{"1 hour", 0.60, 60},
		{"≤ 1 day", 0.30, simEpochsPerDay},
		{"≤ 1 week", 0.09, 7 * simEpochsPerDay},
		{"≤ 90 days", 0.01, 90 * simEpochsPerDay},
	}
	fallbacks, files, maxFiles, oldFallbacks := 0, 0, 0, 0
	perClass := map[string][2]int{} // files total, wallets
	for range wallets {
		x := rng.Float64()
		g := gaps[len(gaps)-1]
		for _, c := range gaps {
			if x < c.share {
				g = c
				break
			}
			x -= c.share
		}
		gap := g.max
		if g.max > 60 {
			gap = 1 + rng.Uint64N(g.max)
		}
		latest := base + rng.Uint64N(1<<12) // anywhere within a 2^12 span
		if gap > 64 {
			oldFallbacks++ // epoch deltas only, at most 64 (before spans)
		}
		plan := deltaFiles(refreshPlan(latest-gap+1, latest))
		if len(plan) > MaxDeltas {
			fallbacks++
			continue
		}
		files += len(plan)
		maxFiles = max(maxFiles, len(plan))
		pc := perClass[g.name]
		perClass[g.name] = [2]int{pc[0] + len(plan), pc[1] + 1}
	}
	t.Logf("%d refreshes at one epoch a minute: %d fell back to a bucket (%.4f%%); %.1f delta files a refresh on average, %d at most (limit %d)",
		wallets, fallbacks, 100*float64(fallbacks)/wallets, float64(files)/wallets, maxFiles, MaxDeltas)
	for _, g := range gaps {
		pc := perClass[g.name]
		if pc[1] > 0 {
			t.Logf("  gap %-9s: %5.1f files a refresh (%d wallets)", g.name, float64(pc[0])/float64(pc[1]), pc[1])
		}
	}
	// A bucket is the exception: under 0.1% of refreshes. Even a wallet a
	// year behind catches up from deltas.
	if fallbacks*1000 > wallets {
		t.Fatalf("%d of %d refreshes fell back to a bucket", fallbacks, wallets)
	}
	if n := len(deltaFiles(refreshPlan(1, 365*simEpochsPerDay))); n > MaxDeltas {
		t.Fatalf("a year behind needs %d files, more than %d", n, MaxDeltas)
	}
	t.Logf("without span deltas (epoch deltas only, at most 64): %d fell back (%.1f%%)", oldFallbacks, 100*float64(oldFallbacks)/wallets)
	t.Logf("what a bucket fallback tells the issuer: the holder is one of 4^%d = %d serials (bucket %s, never the serial)",
		BucketK, 1<<(2*BucketK), publication.BucketName(BucketK, revocation.BucketIndex(123456, BucketK)))
}

// TestApplyDeltasFollowsThePlan: over a source with every span published,
// the refresh fetches exactly deltaPlan's files (spans included) and reaches
// the latest root.
func TestApplyDeltasFollowsThePlan(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	b := enrol(t, iss, w, adult)
	var ds []*revocation.Delta
	start := b.Path.Epoch
	for e := start + 1; e <= 200; e++ {
		var l fr.Element
		l.SetRandom()
		if _, err := iss.store.Append(l); err != nil {
			t.Fatal(err)
		}
		ep := iss.publish()
		d, err := iss.store.Delta(ep.Epoch)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		t.Fatal("no epochs")
	}
	// Every span, as the issuer writes them.
	for _, level := range revocation.SpanLevels {
		writeSpans(t, iss, level, 200)
	}
	rec := &recordingSource{src: iss.source()}
	reps, err := w.Refresh(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{publication.LatestRootName}, refreshPlan(start, 200)...)
	got := slices.DeleteFunc(slices.Clone(rec.names), func(n string) bool { return n == publication.IssuerName })
	if fmt.Sprint(got) != fmt.Sprint(want) || reps[0].UsedBucket || reps[0].ToEpoch != 200 {
		t.Fatalf("fetched %v, want %v (report %+v)", got, want, reps[0])
	}
	wantStorePath(t, iss, w)
}

// writeSpans publishes the spans of level that end by latest.
func writeSpans(t *testing.T, iss *fakeIssuer, level int, latest uint64) {
	t.Helper()
	for i := uint64(0); revocation.SpanEnd(i, level) <= latest; i++ {
		var span []*revocation.Delta
		for e := i<<level + 1; e <= revocation.SpanEnd(i, level); e++ {
			d, err := iss.store.Delta(e)
			if err != nil {
				t.Fatal(err)
			}
			span = append(span, d)
		}
		m, err := revocation.MergeDeltas(span)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := m.MarshalBinary()
		iss.write(publication.SpanName(level, i), raw)
	}
}

type recordingSource struct {
	src   publication.Source
	mu    sync.Mutex
	names []string
}

func (r *recordingSource) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	r.mu.Lock()
	r.names = append(r.names, name)
	r.mu.Unlock()
	return r.src.Get(ctx, name, limit)
}

// BenchmarkDeltaSizes builds one hour of the simulated workload (64
// epochs of 70 issuances, 1000 revocations a day spread over them) on a
// depth-32 tree of 10^5 credentials and reports the bytes of an epoch delta
// and of the hour's span: what a wallet downloads per epoch or per hour
// behind (every wallet alike).
func BenchmarkDeltaSizes(b *testing.B) {
	for b.Loop() {
		s, err := revocation.Open(b.TempDir(), revocation.Options{Depth: 32, MemTableSize: 64 << 20})
		if err != nil {
			b.Fatal(err)
		}
		key, _ := jose.GenerateKey(jose.SuiteGM, nil)
		rng := rand.New(rand.NewPCG(3, 4))
		leaves := func(n int) []fr.Element {
			out := make([]fr.Element, n)
			for i := range out {
				out[i].SetRandom()
			}
			return out
		}
		if _, err := s.Append(leaves(100_000)...); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Publish(key, testIssuer, testNow); err != nil {
			b.Fatal(err)
		}
		perEpoch := simIssuancesPerDay / simEpochsPerDay
		var ds []*revocation.Delta
		revoked := 0
		for e := range 64 {
			batch := revocation.Batch{Append: leaves(perEpoch)}
			for revoked*simEpochsPerDay < (e+1)*simRevocationsPerDay {
				batch.Revoke = append(batch.Revoke, rng.Uint64N(100_000))
				revoked++
			}
			if _, err := s.ApplyBatch(batch); err != nil {
				b.Fatal(err)
			}
			ep, err := s.Publish(key, testIssuer, testNow)
			if err != nil {
				b.Fatal(err)
			}
			d, err := s.Delta(ep.Epoch)
			if err != nil {
				b.Fatal(err)
			}
			ds = append(ds, d)
		}
		total := 0
		for _, d := range ds {
			raw, _ := d.MarshalBinary()
			total += len(raw)
		}
		m, err := revocation.MergeDeltas(ds)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := m.MarshalBinary()
		b.ReportMetric(float64(total)/64, "B/epoch-delta")
		b.ReportMetric(float64(len(raw)), "B/hour-span")
		b.ReportMetric(float64(len(raw))*24/1e6, "MB/day-of-spans")
		s.Close()
	}
}
