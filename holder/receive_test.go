package holder

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/yinzheng-id/yinzheng/openid4vci"
)

// fakeVCI serves an offer and the two metadata documents, with hooks to
// break each.
func fakeVCI(t *testing.T, edit func(o *openid4vci.CredentialOffer, m *openid4vci.CredentialIssuerMetadata, as *openid4vci.AuthorizationServerMetadata)) (string, *int) {
	t.Helper()
	tokenCalls := new(int)
	var base string
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	base = ts.URL
	offer := openid4vci.CredentialOffer{CredentialIssuer: "https://issuer.example",
		CredentialConfigurationIDs: []string{openid4vci.ConfigSDJWT, openid4vci.ConfigZK},
		Grants: openid4vci.Grants{PreAuthorizedCode: &openid4vci.PreAuthorizedCodeGrant{PreAuthorizedCode: "code",
			TxCode: &openid4vci.TxCode{Length: 6}}}}
	meta := openid4vci.CredentialIssuerMetadata{CredentialIssuer: "https://issuer.example",
		CredentialEndpoint: base + "/credential", NonceEndpoint: base + "/nonce",
		BatchCredentialIssuance: &openid4vci.BatchCredentialIssuance{BatchSize: 8},
		CredentialConfigurationsSupported: map[string]openid4vci.CredentialConfiguration{
			openid4vci.ConfigSDJWT: {Format: openid4vci.FormatSDJWT, ProofTypesSupported: map[string]openid4vci.ProofType{
				"jwt": {ProofSigningAlgValuesSupported: []string{"SM2"}}}},
			openid4vci.ConfigZK: {Format: openid4vci.FormatZK}}}
	as := openid4vci.AuthorizationServerMetadata{Issuer: "https://issuer.example", TokenEndpoint: base + "/token",
		GrantTypesSupported: []string{openid4vci.GrantPreAuthorizedCode}}
	edit(&offer, &meta, &as)
	serve := func(v any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(v) }
	}
	mux.HandleFunc("GET /offers/1", serve(&offer))
	mux.HandleFunc("GET "+openid4vci.WellKnownCredentialIssuer, serve(&meta))
	mux.HandleFunc("GET "+openid4vci.WellKnownAuthorizationServer, serve(&as))
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		*tokenCalls++
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(openid4vci.ErrorResponse{Error: "invalid_grant"})
	})
	return base, tokenCalls
}

// TestReceiveRefusals: the wallet refuses an offer or metadata that does
// not fit, before it sends the pre-authorized code anywhere; an issuer's
// refusal comes back as ErrIssuance with the OAuth error code.
func TestReceiveRefusals(t *testing.T) {
	w := newWallet(t)
	tx := func(*openid4vci.TxCode) (string, error) { return "123456", nil }
	for name, c := range map[string]struct {
		edit      func(o *openid4vci.CredentialOffer, m *openid4vci.CredentialIssuerMetadata, as *openid4vci.AuthorizationServerMetadata)
		noTx      bool
		wantToken bool
	}{
		"metadata of another issuer": {edit: func(o *openid4vci.CredentialOffer, m *openid4vci.CredentialIssuerMetadata, as *openid4vci.AuthorizationServerMetadata) {
			m.CredentialIssuer = "https://other.example"
		}},
		"AS metadata of another issuer": {edit: func(o *openid4vci.CredentialOffer, m *openid4vci.CredentialIssuerMetadata, as *openid4vci.AuthorizationServerMetadata) {
			as.Issuer = "https://other.example"
		}},
		"no ZK configuration offered": {edit: func(o *openid4vci.CredentialOffer, m *openid4vci.CredentialIssuerMetadata, as *openid4vci.AuthorizationServerMetadata) {
			o.CredentialConfigurationIDs = []string{openid4vci.ConfigSDJWT}
		}},
		"no pre-authorized code": {edit: func(o *openid4vci.CredentialOffer, m *openid4vci.CredentialIssuerMetadata, as *openid4vci.AuthorizationServerMetadata) {
			o.Grants.PreAuthorizedCode = nil
		}},
		"unknown proof alg": {edit: func(o *openid4vci.CredentialOffer, m *openid4vci.CredentialIssuerMetadata, as *openid4vci.AuthorizationServerMetadata) {
			m.CredentialConfigurationsSupported[openid4vci.ConfigSDJWT] = openid4vci.CredentialConfiguration{Format: openid4vci.FormatSDJWT,
				ProofTypesSupported: map[string]openid4vci.ProofType{"jwt": {ProofSigningAlgValuesSupported: []string{"RS256"}}}}
		}},
		"plain http token endpoint elsewhere": {edit: func(o *openid4vci.CredentialOffer, m *openid4vci.CredentialIssuerMetadata, as *openid4vci.AuthorizationServerMetadata) {
			as.TokenEndpoint = "http://token.example/token"
		}},
		"tx_code needed, none given": {edit: func(*openid4vci.CredentialOffer, *openid4vci.CredentialIssuerMetadata, *openid4vci.AuthorizationServerMetadata) {
		}, noTx: true},
		"issuer refuses the code": {edit: func(*openid4vci.CredentialOffer, *openid4vci.CredentialIssuerMetadata, *openid4vci.AuthorizationServerMetadata) {
		}, wantToken: true},
	} {
		base, tokenCalls := fakeVCI(t, c.edit)
		opts := ReceiveOptions{IssuerURL: base, TxCode: tx}
		if c.noTx {
			opts.TxCode = nil
		}
		_, err := w.Receive(context.Background(), openid4vci.OfferLink(base+"/offers/1"), opts)
		if !errors.Is(err, ErrIssuance) {
			t.Errorf("%s: %v, want ErrIssuance", name, err)
		}
		if (*tokenCalls > 0) != c.wantToken {
			t.Errorf("%s: %d token requests", name, *tokenCalls)
		}
	}
	if _, err := w.Receive(context.Background(), "not a link", ReceiveOptions{}); !errors.Is(err, ErrIssuance) {
		t.Errorf("garbage link: %v", err)
	}
}
