package holder

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
)

func TestImportAcceptsAGoodBundle(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	b := iss.issue(adult, mustRequest(t, w), issueOpts{})
	// The bundle travels as JSON.
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	info, err := w.Import(context.Background(), parsed, iss.source())
	if err != nil {
		t.Fatal(err)
	}
	if info.Serial != b.Serial || info.CopiesLeft != SDJWTCopies || info.Revoked || info.Epoch != b.Path.Epoch {
		t.Fatalf("info %+v", info)
	}
	// The state survives reopening, and the pending request is used up.
	w2, err := Open(w.Dir(), testPassphrase, Options{Now: testClock})
	if err != nil {
		t.Fatal(err)
	}
	if got := w2.Credentials(); len(got) != 1 || got[0] != *info {
		t.Fatalf("after reopening: %+v", got)
	}
	if len(w2.st.Pending) != 0 {
		t.Fatalf("%d pending requests remain", len(w2.st.Pending))
	}
	// The same bundle twice is refused.
	_, err = w.Import(context.Background(), parsed, iss.source())
	wantErr(t, err, "already in the wallet")
}

// TestImportRejects breaks each check of Import alone.
func TestImportRejects(t *testing.T) {
	iss := newIssuer(t)
	otherKey, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	bump := func(s string) string {
		e, err := zkhash.ParseElement(s)
		if err != nil {
			t.Fatal(err)
		}
		var one fr.Element
		one.SetOne()
		e.Add(&e, &one)
		return zkhash.FormatElement(e)
	}
	cases := []struct {
		name string
		opts issueOpts
		edit func(b *Bundle, w *Wallet)
		want string
	}{
		{name: "version", edit: func(b *Bundle, _ *Wallet) { b.Version = 2 }, want: "version 2"},
		{name: "issuer name", edit: func(b *Bundle, _ *Wallet) { b.Issuer = "https://evil.example" }, want: "not \"https://evil.example\""},
		{name: "root statement signature", edit: func(b *Bundle, _ *Wallet) {
			j, err := jose.ParseCompact(b.RootStatement)
			if err != nil {
				t.Fatal(err)
			}
			forged, err := jose.Sign(otherKey, map[string]any{"typ": "yinzheng-root+jwt"}, j.Payload)
			if err != nil {
				t.Fatal(err)
			}
			b.RootStatement = forged
		}, want: "root statement"},
		{name: "root statement of another epoch", edit: func(b *Bundle, _ *Wallet) {
			e, err := iss.store.Statement(b.Path.Epoch - 1)
			if err != nil {
				t.Fatal(err)
			}
			b.RootStatement = e.Statement
		}, want: "the root statement is for epoch"},
		{name: "path root", edit: func(b *Bundle, _ *Wallet) { b.Path.Root = bump(b.Path.Root) }, want: "not the root the issuer signed"},
		{name: "path serial", edit: func(b *Bundle, _ *Wallet) { b.Path.Serial++ }, want: "the path is for serial"},
		{name: "serial beyond leaf count", edit: func(b *Bundle, _ *Wallet) { b.Serial += 100; b.Path.Serial = b.Serial }, want: "beyond the signed leaf count"},
		{name: "path depth", edit: func(b *Bundle, _ *Wallet) { b.Path.Siblings = b.Path.Siblings[1:] }, want: "siblings"},
		{name: "path sibling", edit: func(b *Bundle, _ *Wallet) { b.Path.Siblings[3] = bump(b.Path.Siblings[3]) }, want: "does not lead from the leaf"},
		{name: "packed attributes", edit: func(b *Bundle, _ *Wallet) { b.ZK.Attributes = bump(b.ZK.Attributes) }, want: "zk.attributes"},
		{name: "identity element", edit: func(b *Bundle, _ *Wallet) { b.ZK.Identity = bump(b.ZK.Identity) }, want: "zk.identity"},
		{name: "leaf", edit: func(b *Bundle, _ *Wallet) { b.ZK.Leaf = bump(b.ZK.Leaf) }, want: "zk.leaf"},
		{name: "level differs from the leaf", edit: func(b *Bundle, _ *Wallet) { b.ZK.Level = 4 }, want: "zk.attributes"},
		{name: "name differs from the leaf", edit: func(b *Bundle, _ *Wallet) { b.ZK.Name = "赵六" }, want: "zk.identity"},
		{name: "invalid attribute", edit: func(b *Bundle, _ *Wallet) { b.ZK.BirthDate = "1990-02-30" }, want: "zk.birth_date"},
		{name: "salt", edit: func(b *Bundle, _ *Wallet) { b.ZK.Salt = "short" }, want: "zk.salt"},
		{name: "another holder's commitment", opts: issueOpts{commitment: new(fr.Element).SetUint64(42)}, want: "another holder"},
		{name: "sd-jwt signed by another key", opts: issueOpts{sdKey: otherKey}, want: "issuer signature"},
		{name: "sd-jwt cnf not ours", edit: func(b *Bundle, w *Wallet) {
			// Reissue the first copy to a key the wallet never generated.
			b.SDJWT[0] = iss.sdjwt(iss.attributes(adult), b.Serial, otherKey.Public(), issueOpts{})
		}, want: "not one this wallet generated"},
		{name: "sd-jwt copy twice", edit: func(b *Bundle, _ *Wallet) { b.SDJWT[1] = b.SDJWT[0] }, want: "already bound to another copy"},
		{name: "sd-jwt copies missing", edit: func(b *Bundle, _ *Wallet) { b.SDJWT = b.SDJWT[:3] }, want: "3 SD-JWT copies"},
		{name: "sd-jwt none", edit: func(b *Bundle, _ *Wallet) { b.SDJWT = nil }, want: "no SD-JWT copies"},
		{name: "sd-jwt claims differ", opts: issueOpts{sdName: "赵六"}, want: "claim name"},
		{name: "sd-jwt issuer", opts: issueOpts{sdIssuer: "https://evil.example"}, want: "iss \"https://evil.example\""},
		{name: "sd-jwt status index shared", opts: issueOpts{statusIdx: new(uint64)}, want: "has the status index of sd_jwt[0] (copies would link)"},
		{name: "sd-jwt status index missing", opts: issueOpts{noStatusIdx: true}, want: "status.status_list.idx"},
		{name: "sd-jwt tampered", edit: func(b *Bundle, _ *Wallet) {
			parts := strings.SplitN(b.SDJWT[2], ".", 3)
			parts[1] = parts[1][:len(parts[1])-2] + "AA"
			b.SDJWT[2] = strings.Join(parts, ".")
		}, want: "sd_jwt[2]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWallet(t)
			// A first credential makes the previous epoch exist for every case.
			b := iss.issue(adult, mustRequest(t, w), tc.opts)
			if tc.edit != nil {
				tc.edit(b, w)
			}
			_, err := w.Import(context.Background(), b, iss.source())
			wantErr(t, err, tc.want)
			if len(w.Credentials()) != 0 {
				t.Fatal("a refused bundle was stored")
			}
		})
	}
}

func TestImportRejectsAnotherIssuersKey(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	b := iss.issue(adult, mustRequest(t, w), issueOpts{})
	// The source publishes another key under the same issuer name: the
	// bundle's statement and SD-JWTs no longer verify.
	other, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	iss.writeMetadata(testIssuer, other.Public(), "")
	_, err = w.Import(context.Background(), b, iss.source())
	wantErr(t, err, "root statement")
}

func TestImportPinsTheIssuerKey(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	enrol(t, iss, w, adult)
	other, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	iss.writeMetadata(testIssuer, other.Public(), "")
	_, err = w.Refresh(context.Background(), iss.source())
	wantIs(t, err, ErrIssuerKeyChanged)
}

func TestImportNeedsTheIssuerSource(t *testing.T) {
	iss := newIssuer(t)
	w := newWallet(t)
	b := iss.issue(adult, mustRequest(t, w), issueOpts{})
	_, err := w.Import(context.Background(), b, nil)
	wantErr(t, err, "no issuer source")
	// Metadata whose kid is not its key's id is refused.
	good, err := os.ReadFile(iss.public(publication.IssuerName))
	if err != nil {
		t.Fatal(err)
	}
	iss.write(publication.IssuerName, []byte(strings.Replace(string(good), `"kid":"z`, `"kid":"zX`, 1)))
	_, err = w.Import(context.Background(), b, iss.source())
	wantErr(t, err, "issuer metadata", "kid")
	if err := os.Remove(iss.public(publication.IssuerName)); err != nil {
		t.Fatal(err)
	}
	_, err = w.Import(context.Background(), b, iss.source())
	wantErr(t, err, "issuer metadata")
}

func TestParseBundleStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown member": `{"version":1,"extra":true}`,
		"trailing data":  `{"version":1} {}`,
		"not json":       `version 1`,
		"version":        `{"version":2}`,
		"too large":      `{"version":1,"wanghao":"` + strings.Repeat("a", MaxDocumentBytes) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseBundle([]byte(doc))
			wantIs(t, err, ErrFormat)
		})
	}
}
