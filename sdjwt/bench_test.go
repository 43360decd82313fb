package sdjwt

import (
	"testing"

	"github.com/yinzheng-id/yinzheng/jose"
)

// BenchmarkIssue issues a 10-claim SD-JWT VC (every claim selectively
// disclosable, with a holder key).
func BenchmarkIssue(b *testing.B) {
	for _, suite := range suites() {
		b.Run(string(suite), func(b *testing.B) {
			f := newFixture(b, suite)
			claims := mustJSON(b, personClaims)
			opts := IssueOptions{Disclosable: mustPaths(b, personSD), HolderKey: f.holder.Public(), Now: clock}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Issue(f.issuer, claims, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyWithKB verifies a presentation of the 10-claim SD-JWT that
// discloses five claims and carries a Key Binding JWT (two signature checks).
func BenchmarkVerifyWithKB(b *testing.B) {
	for _, suite := range []jose.Suite{jose.SuiteIntl, jose.SuiteGM} {
		b.Run(string(suite), func(b *testing.B) {
			f := newFixture(b, suite)
			sd := f.issue(b, IssueOptions{})
			pres := []byte(f.present(b, sd, `[["given_name"],["birthdate"],["address","street"],["age_over_18"]]`).Compact())
			v := f.verifier()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(pres); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
