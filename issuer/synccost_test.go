package issuer

import (
	"testing"

	"github.com/yinzheng-id/yinzheng/internal/storelock"
	"github.com/yinzheng-id/yinzheng/jose"
)

// BenchmarkSyncCost measures issuance with the stores' writes synced (as
// they always are) and, for comparison only, unsynced:
//
//	go test -run '^$' -bench SyncCost ./issuer ./revocation ./verifier ./internal/storelock
func BenchmarkSyncCost(b *testing.B) {
	for _, sync := range []bool{false, true} {
		name := "sync=off"
		if sync {
			name = "sync=on"
		}
		b.Run(name+"/issue", func(b *testing.B) {
			defer storelock.SetSyncWrites(storelock.SetSyncWrites(sync))
			iss, _ := newTestIssuer(b, jose.SuiteGM)
			h := newHolder(b, 8)
			for b.Loop() {
				if _, err := iss.Issue(adultSubject(), h.req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "issuances/s")
		})
	}
}
