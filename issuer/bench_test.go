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
