package sdjwt

import (
	"testing"
	"time"
)

// fuzzSeeds issues and presents a few vector cases (compact and JSON) with the
// fixed keys of testdata/sd-jwt-python/settings.yml.
func fuzzSeeds(f *testing.F) (*Verifier, [][]byte) {
	settings, cases := loadVectors(f)
	issuer := jwk(f, settings.KeySettings.IssuerKeys[0])
	holder := jwk(f, settings.KeySettings.HolderKey)
	now := time.Unix(settings.IAT, 0)
	var seeds [][]byte
	for _, c := range cases {
		sd, err := Issue(issuer, c.claims, IssueOptions{Disclosable: c.disclosable, HolderKey: holder.Public(), IssuedAt: now, Decoys: 1})
		if err != nil {
			f.Fatal(err)
		}
		pres, err := Present(sd, c.disclose, PresentOptions{HolderKey: holder, Audience: settings.Identifiers.Verifier, Nonce: settings.Nonce, IssuedAt: now})
		if err != nil {
			f.Fatal(err)
		}
		flat, _ := pres.MarshalFlattenedJSON()
		gen, _ := pres.MarshalGeneralJSON()
		seeds = append(seeds, []byte(sd.Compact()), []byte(pres.Compact()), flat, gen)
	}
	v := &Verifier{IssuerKey: issuer.Public(), Audience: settings.Identifiers.Verifier, Nonce: settings.Nonce,
		Now: func() time.Time { return now }}
	return v, seeds
}

func FuzzParseCompact(f *testing.F) {
	_, seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(string(s))
	}
	f.Fuzz(func(t *testing.T, s string) {
		sd, err := ParseCompact(s)
		if err != nil {
			return
		}
		// Parsing is lossless for the compact form.
		if got := sd.Compact(); got != s {
			t.Fatalf("Compact() = %q, input %q", got, s)
		}
		for _, d := range sd.Disclosures {
			_, _ = ParseDisclosure(d)
		}
	})
}

func FuzzParseJSONSerialization(f *testing.F) {
	_, seeds := fuzzSeeds(f)
	for _, s := range seeds {
		if len(s) > 0 && s[0] == '{' {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := ParseJSONSerialization(data)
		if err != nil {
			return
		}
		flat, err := sd.MarshalFlattenedJSON()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseJSONSerialization(flat)
		if err != nil || again.Compact() != sd.Compact() {
			t.Fatalf("re-parsing the flattened form: %v", err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	v, seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := v.Verify(data)
		if err == nil && res.Claims == nil {
			t.Fatal("verified without claims")
		}
	})
}
