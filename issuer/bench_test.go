package issuer

import (
	"testing"

	"github.com/yinzheng-id/yinzheng/jose"
)

// BenchmarkIssue measures one issuance with 8 SD-JWT copies: validation,
// leaf, accumulator append at depth 32, epoch publication and the public
// files.
func BenchmarkIssue(b *testing.B) {
	iss, _ := newTestIssuer(b, jose.SuiteGM)
	h := newHolder(b, 8)
	for b.Loop() {
		if _, err := iss.Issue(adultSubject(), h.req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRevokeTenThousand measures one Revoke call of 10,000 serials
// spread over 10,000 more issued: one accumulator batch, one status list
// signature, one audit entry. It reports revocations per second.
func BenchmarkRevokeTenThousand(b *testing.B) {
	const n = 10_000
	iss, _ := newTestIssuer(b, jose.SuiteGM)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		first := appendLeaves(b, iss, 2*n)
		serials := make([]uint64, n)
		for j := range serials {
			serials[j] = first + uint64(2*j)
		}
		b.StartTimer()
		if err := iss.Revoke(serials...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "revocations/s")
}
