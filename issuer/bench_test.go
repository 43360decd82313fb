package issuer

import (
	"testing"
	"time"

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

// BenchmarkOpenMillionLeaves measures Open of an issuer directory whose
// accumulator holds 10^6 leaves, with the consistency checks and the
// publish repair (nothing to repair) included; the test KDF keeps the
// passphrase derivation out of the figure.
func BenchmarkOpenMillionLeaves(b *testing.B) {
	const n, batch = 1_000_000, 50_000
	iss, dir := newTestIssuer(b, jose.SuiteGM)
	for i := 0; i < n; i += batch {
		appendLeaves(b, iss, batch)
	}
	if _, err := iss.Publish(); err != nil {
		b.Fatal(err)
	}
	if err := iss.Revoke(1, 500_000, 999_999); err != nil {
		b.Fatal(err)
	}
	if err := iss.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		again, err := open(dir, testPass, func() time.Time { return testNow })
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		again.Close()
		b.StartTimer()
	}
}
