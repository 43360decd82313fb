package holder

import (
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/sdjwt"
)

func TestPresentUsesEachCopyOnce(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	enrol(t, iss, w, adult)
	seenJWT := map[string]bool{}
	seenKey := map[string]bool{}
	for i := range SDJWTCopies {
		if i == SDJWTCopies/2 {
			// Shown copies stay shown across a reopening.
			var err error
			if w, err = Open(w.Dir(), testPassphrase, Options{Now: testClock}); err != nil {
				t.Fatal(err)
			}
		}
		r := sdRequestFor(t, "platform-a", "age_over_18")
		p, err := w.present(r)
		if err != nil {
			t.Fatalf("presentation %d: %v", i, err)
		}
		if p.Type != PresentationSDJWT || p.RequestID != r.ID {
			t.Fatalf("presentation %+v", p)
		}
		v := sdjwt.Verifier{IssuerKey: iss.key.Public(), Audience: r.Audience, Nonce: r.Nonce, RequireKeyBinding: true, Now: testClock}
		res, err := v.Verify([]byte(p.SDJWT))
		if err != nil {
			t.Fatalf("presentation %d does not verify: %v", i, err)
		}
		if res.Claims["age_over_18"] != true {
			t.Fatalf("age_over_18 = %v", res.Claims["age_over_18"])
		}
		for _, hidden := range []string{"name", "birth_date", "wanghao", "region", "doc_type", "level", "age_over_14"} {
			if _, ok := res.Claims[hidden]; ok {
				t.Fatalf("presentation %d discloses %s", i, hidden)
			}
		}
		jwt := strings.SplitN(p.SDJWT, "~", 2)[0]
		key, _ := res.HolderKey.MarshalJSON()
		if seenJWT[jwt] || seenKey[string(key)] {
			t.Fatalf("presentation %d reuses a copy", i)
		}
		seenJWT[jwt], seenKey[string(key)] = true, true
		// The KB-JWT is bound to this request: another nonce fails.
		v.Nonce = "another"
		if _, err := v.Verify([]byte(p.SDJWT)); err == nil {
			t.Fatal("a presentation verifies under another nonce")
		}
	}
	_, err := w.present(sdRequestFor(t, "platform-a", "age_over_18"))
	wantIs(t, err, ErrNoCopies)
	if c := w.Credentials(); c[0].CopiesLeft != 0 {
		t.Fatalf("%d copies left", c[0].CopiesLeft)
	}
}

func TestPresentChecksTheRequest(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	enrol(t, iss, w, adult)
	for name, tc := range map[string]struct {
		edit func(r *Request)
		want string
	}{
		"unknown claim":    {func(r *Request) { r.SDJWT.Claims = []string{"password"} }, "not a disclosable claim"},
		"clear claim":      {func(r *Request) { r.SDJWT.Claims = []string{"iss"} }, "not a disclosable claim"},
		"claim twice":      {func(r *Request) { r.SDJWT.Claims = []string{"name", "name"} }, "asked for twice"},
		"no claims":        {func(r *Request) { r.SDJWT.Claims = nil }, "names no SD-JWT claim"},
		"a ZK request":     {func(r *Request) { r.SDJWT = nil }, "names no SD-JWT claim"},
		"no audience":      {func(r *Request) { r.Audience = "" }, "no audience"},
		"expired":          {func(r *Request) { r.ExpiresAt = "2020-01-01T00:00:00Z" }, "expired"},
		"no id":            {func(r *Request) { r.ID = "" }, "no id"},
		"another issuer":   {func(r *Request) { r.Issuer = "https://other.example" }, "no credential of"},
		"malformed expiry": {func(r *Request) { r.ExpiresAt = "tomorrow" }, "expires_at"},
	} {
		t.Run(name, func(t *testing.T) {
			r := sdRequestFor(t, "platform-a", "age_over_18")
			tc.edit(r)
			_, err := w.present(r)
			if tc.want != "no credential of" {
				wantIs(t, err, ErrRequest)
			}
			wantErr(t, err, tc.want)
		})
	}
	// No refused request used up a copy.
	if c := w.Credentials(); c[0].CopiesLeft != SDJWTCopies {
		t.Fatalf("%d copies left after refusals", c[0].CopiesLeft)
	}
}
