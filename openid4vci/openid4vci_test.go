package openid4vci

import (
	"errors"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
)

func TestOfferLinkRoundTrip(t *testing.T) {
	uri := "https://issuer.example/offers/abc?x=1&y=2"
	link := OfferLink(uri)
	got, offer, err := ParseOfferLink(link)
	if err != nil || offer != nil || got != uri {
		t.Fatalf("ParseOfferLink(%q) = %q %v %v", link, got, offer, err)
	}
	if got, _, err := ParseOfferLink("https://issuer.example/offers/abc"); err != nil || got != "https://issuer.example/offers/abc" {
		t.Errorf("plain URI: %q %v", got, err)
	}
	_, offer, err = ParseOfferLink(OfferScheme + `?credential_offer=%7B%22credential_issuer%22%3A%22https%3A%2F%2Fi.example%22%7D`)
	if err != nil || offer == nil || offer.CredentialIssuer != "https://i.example" {
		t.Errorf("offer by value: %v %v", offer, err)
	}
	for _, bad := range []string{"", "ftp://x", OfferScheme, OfferScheme + "?a=b",
		OfferScheme + "?credential_offer_uri=a&credential_offer=%7B%7D", OfferScheme + "?credential_offer=notjson"} {
		if _, _, err := ParseOfferLink(bad); !errors.Is(err, ErrOfferLink) {
			t.Errorf("%q: %v, want ErrOfferLink", bad, err)
		}
	}
}

// TestMetadataURL: the well-known segment goes between host and path
// (OpenID4VCI §12.2.2), not after the path.
func TestMetadataURL(t *testing.T) {
	for id, want := range map[string]string{
		"https://issuer.example":         "https://issuer.example/.well-known/openid-credential-issuer",
		"https://issuer.example/tenant":  "https://issuer.example/.well-known/openid-credential-issuer/tenant",
		"https://issuer.example/tenant/": "https://issuer.example/.well-known/openid-credential-issuer/tenant",
	} {
		if got, err := MetadataURL(id); err != nil || got != want {
			t.Errorf("MetadataURL(%q) = %q %v, want %q", id, got, err, want)
		}
	}
	if got, _ := AuthorizationServerMetadataURL("https://a.example/x"); got != "https://a.example/.well-known/oauth-authorization-server/x" {
		t.Errorf("AS metadata URL %q", got)
	}
	for _, bad := range []string{"issuer.example", "https://issuer.example?q=1", "ftp://issuer.example"} {
		if _, err := MetadataURL(bad); err == nil {
			t.Errorf("MetadataURL(%q) accepted", bad)
		}
	}
}

func TestVerifyProof(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, suite := range []jose.Suite{jose.SuiteGM, jose.SuiteIntl} {
		k, _ := jose.GenerateKey(suite, nil)
		p, err := SignProof(k, "https://issuer.example", "n-1", now)
		if err != nil {
			t.Fatal(err)
		}
		c := ProofCheck{Audience: "https://issuer.example", Algs: []string{k.Alg()}, Now: now.Add(time.Minute)}
		got, nonce, err := VerifyProof(p, c)
		if err != nil || !got.Equal(k.Public()) || nonce != "n-1" {
			t.Fatalf("%s: %v %q %v", suite, got, nonce, err)
		}
		bad := c
		bad.Audience = "https://other.example"
		if _, _, err := VerifyProof(p, bad); !errors.Is(err, ErrInvalidProof) {
			t.Errorf("%s wrong audience: %v", suite, err)
		}
		bad = c
		bad.Algs = []string{"RS256"}
		if _, _, err := VerifyProof(p, bad); !errors.Is(err, ErrInvalidProof) {
			t.Errorf("%s alg not accepted: %v", suite, err)
		}
		bad = c
		bad.Now = now.Add(MaxProofAge + time.Second)
		if _, _, err := VerifyProof(p, bad); !errors.Is(err, ErrInvalidProof) {
			t.Errorf("%s stale: %v", suite, err)
		}
		if _, _, err := VerifyProof(p[:len(p)-4]+"AAAA", c); !errors.Is(err, ErrInvalidProof) {
			t.Errorf("%s tampered signature: %v", suite, err)
		}
	}
}
