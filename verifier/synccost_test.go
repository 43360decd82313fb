package verifier_test

import (
	"context"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/storelock"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

// BenchmarkSyncCost measures whole verifications (a request made, so its
// nonce stored, then a zero-knowledge presentation verified and its
// request taken) with the request store's writes synced (as they always
// are) and, for comparison only, unsynced. Proving is not timed.
//
//	go test -run '^$' -bench SyncCost ./issuer ./revocation ./verifier ./internal/storelock
func BenchmarkSyncCost(b *testing.B) {
	now := time.Now()
	iss := verifiertest.NewIssuer(b, testDepth, now)
	holder := iss.Issue(b, verifiertest.Adult(schemas.Date{Year: 2000, Month: time.January, Day: 1}), now)
	epoch := iss.Publish(b, now).Epoch
	ctx := context.Background()
	policy := verifier.Policy{Scope: "platform-a", AgeOver: intp(18)}
	for _, sync := range []bool{false, true} {
		name := "sync=off"
		if sync {
			name = "sync=on"
		}
		b.Run(name+"/verify", func(b *testing.B) {
			defer storelock.SetSyncWrites(storelock.SetSyncWrites(sync))
			v, err := verifier.New(verifier.Options{Dir: b.TempDir(), Source: iss.Source(), Trust: iss.Trust(), AllowDevelopmentKeys: true})
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			var timed time.Duration
			for range b.N {
				start := time.Now()
				req, err := v.NewRequest(ctx, policy)
				if err != nil {
					b.Fatal(err)
				}
				timed += time.Since(start)
				b.StopTimer()
				data := verifiertest.JSON(b, holder.Prove(b, req, epoch))
				b.StartTimer()
				start = time.Now()
				res, err := v.Verify(ctx, data, req)
				if err != nil || !res.Valid {
					b.Fatalf("verify: %v %+v", err, res)
				}
				timed += time.Since(start)
			}
			b.ReportMetric(float64(b.N)/timed.Seconds(), "verifications/s")
		})
	}
}
