package holder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/openid4vci"
	"github.com/yinzheng-id/yinzheng/publication"
)

// ErrIssuance reports an OpenID4VCI issuance that did not complete: an
// offer, metadata or answer the wallet refuses, or a refusal by the issuer
// (the message carries the OAuth error code and description).
var ErrIssuance = errors.New("holder: issuance failed")

func issuanceErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrIssuance}, a...)...)
}

// maxOID4VCIResponse bounds every answer of the issuer read during Receive.
const maxOID4VCIResponse = 1 << 20

// ReceiveOptions configure Receive.
type ReceiveOptions struct {
	// IssuerURL is the base URL the credential issuer is reached at, when
	// that is not its identifier (a service on a local address). Empty: the
	// identifier named by the offer.
	IssuerURL string
	// TxCode returns the transaction code the person received out of band,
	// when the offer asks for one (its description and length are passed).
	TxCode func(*openid4vci.TxCode) (string, error)
	// Client makes the HTTP requests; nil means a client with a one-minute
	// timeout.
	Client *http.Client
}

// Receive runs the wallet side of an OpenID4VCI 1.0 pre-authorized issuance
// from an offer link (openid-credential-offer://?credential_offer_uri=…, or
// the offer URI itself): it resolves the offer, reads the credential issuer
// and authorization server metadata, redeems the pre-authorized code with
// the tx_code, fetches a c_nonce, signs one proof of possession per fresh
// SD-JWT copy key (of the suite the issuer accepts), requests the SD-JWT
// copies with the holder commitment, then the zero-knowledge credential,
// and imports the two as one bundle with every check of Import, against the
// issuer's publication at the same base URL.
func (w *Wallet) Receive(ctx context.Context, offerLink string, opts ReceiveOptions) (*CredentialInfo, error) {
	c := &vciClient{ctx: ctx, http: opts.Client}
	if c.http == nil {
		c.http = &http.Client{Timeout: time.Minute}
	}
	offerURI, offer, err := openid4vci.ParseOfferLink(offerLink)
	if err != nil {
		return nil, issuanceErr("%v", err)
	}
	if offer == nil {
		if err := checkEndpoint("credential_offer_uri", offerURI); err != nil {
			return nil, err
		}
		offer = new(openid4vci.CredentialOffer)
		if err := c.get(offerURI, offer); err != nil {
			return nil, issuanceErr("credential offer: %v", err)
		}
	}
	grant := offer.Grants.PreAuthorizedCode
	switch {
	case offer.CredentialIssuer == "":
		return nil, issuanceErr("the offer names no credential_issuer")
	case !slices.Contains(offer.CredentialConfigurationIDs, openid4vci.ConfigSDJWT) || !slices.Contains(offer.CredentialConfigurationIDs, openid4vci.ConfigZK):
		return nil, issuanceErr("the offer is not for %s and %s (it offers %q)", openid4vci.ConfigSDJWT, openid4vci.ConfigZK, offer.CredentialConfigurationIDs)
	case grant == nil || grant.PreAuthorizedCode == "":
		return nil, issuanceErr("the offer has no pre-authorized code (only the pre-authorized code flow is supported)")
	}
	base := strings.TrimRight(opts.IssuerURL, "/")
	if base == "" {
		base = offer.CredentialIssuer
	}
	if err := publication.CheckURL(base); err != nil {
		return nil, issuanceErr("issuer URL: %v", err)
	}

	// Metadata: the issuer's, which must name the offer's issuer, and its
	// authorization server's (the issuer itself: no authorization_servers).
	metaURL, err := openid4vci.MetadataURL(base)
	if err != nil {
		return nil, issuanceErr("%v", err)
	}
	var meta openid4vci.CredentialIssuerMetadata
	if err := c.get(metaURL, &meta); err != nil {
		return nil, issuanceErr("credential issuer metadata: %v", err)
	}
	if meta.CredentialIssuer != offer.CredentialIssuer {
		return nil, issuanceErr("the metadata is of credential issuer %q, the offer of %q", meta.CredentialIssuer, offer.CredentialIssuer)
	}
	sdConf, ok := meta.CredentialConfigurationsSupported[openid4vci.ConfigSDJWT]
	if !ok || sdConf.Format != openid4vci.FormatSDJWT {
		return nil, issuanceErr("the issuer's metadata has no %s configuration of format %s", openid4vci.ConfigSDJWT, openid4vci.FormatSDJWT)
	}
	if zkConf, ok := meta.CredentialConfigurationsSupported[openid4vci.ConfigZK]; !ok || zkConf.Format != openid4vci.FormatZK {
		return nil, issuanceErr("the issuer's metadata has no %s configuration of format %s", openid4vci.ConfigZK, openid4vci.FormatZK)
	}
	suite, err := proofSuite(sdConf)
	if err != nil {
		return nil, err
	}
	copies := 1 // without batch issuance, one proof per request
	if meta.BatchCredentialIssuance != nil {
		copies = min(SDJWTCopies, meta.BatchCredentialIssuance.BatchSize)
	}
	if copies < 1 {
		return nil, issuanceErr("batch_size %d", meta.BatchCredentialIssuance.BatchSize)
	}
	if len(meta.AuthorizationServers) > 0 && !slices.Contains(meta.AuthorizationServers, meta.CredentialIssuer) {
		return nil, issuanceErr("the issuer delegates to another authorization server (%q); only an issuer that is its own is supported", meta.AuthorizationServers)
	}
	asURL, err := openid4vci.AuthorizationServerMetadataURL(base)
	if err != nil {
		return nil, issuanceErr("%v", err)
	}
	var as openid4vci.AuthorizationServerMetadata
	if err := c.get(asURL, &as); err != nil {
		return nil, issuanceErr("authorization server metadata: %v", err)
	}
	switch {
	case as.Issuer != meta.CredentialIssuer:
		return nil, issuanceErr("the authorization server metadata is of %q, not of the credential issuer %q", as.Issuer, meta.CredentialIssuer)
	case !slices.Contains(as.GrantTypesSupported, openid4vci.GrantPreAuthorizedCode):
		return nil, issuanceErr("the authorization server does not support the pre-authorized code grant")
	}
	for name, u := range map[string]string{"token_endpoint": as.TokenEndpoint, "nonce_endpoint": meta.NonceEndpoint,
		"credential_endpoint": meta.CredentialEndpoint} {
		if err := checkEndpoint(name, u); err != nil {
			return nil, err
		}
	}

	// The token, with the tx_code when the offer asks for one.
	form := url.Values{"grant_type": {openid4vci.GrantPreAuthorizedCode}, "pre-authorized_code": {grant.PreAuthorizedCode}}
	if grant.TxCode != nil {
		if opts.TxCode == nil {
			return nil, issuanceErr("the offer needs a transaction code (tx_code), and none was given")
		}
		code, err := opts.TxCode(grant.TxCode)
		if err != nil {
			return nil, issuanceErr("tx_code: %v", err)
		}
		form.Set("tx_code", strings.TrimSpace(code))
	}
	var tok openid4vci.TokenResponse
	if err := c.post(as.TokenEndpoint, "", "application/x-www-form-urlencoded", []byte(form.Encode()), &tok); err != nil {
		return nil, issuanceErr("token: %v", err)
	}
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") {
		return nil, issuanceErr("token: no Bearer access token in the answer")
	}

	// Fresh keys, one per copy, each proved under one c_nonce.
	hr, keys, err := w.newRequest(suite, copies)
	if err != nil {
		return nil, err
	}
	var nonce openid4vci.NonceResponse
	if err := c.post(meta.NonceEndpoint, "", "", nil, &nonce); err != nil {
		return nil, issuanceErr("nonce: %v", err)
	}
	if nonce.CNonce == "" {
		return nil, issuanceErr("nonce: no c_nonce in the answer")
	}
	req := openid4vci.CredentialRequest{CredentialConfigurationID: openid4vci.ConfigSDJWT,
		Proofs: &openid4vci.Proofs{}, HolderCommitment: hr.HolderCommitment}
	now := w.now()
	for _, k := range keys {
		p, err := openid4vci.SignProof(k, meta.CredentialIssuer, nonce.CNonce, now)
		if err != nil {
			return nil, fmt.Errorf("holder: signing a proof of possession: %w", err)
		}
		req.Proofs.JWT = append(req.Proofs.JWT, p)
	}
	var sdResp openid4vci.CredentialResponse
	if err := c.postJSON(meta.CredentialEndpoint, tok.AccessToken, &req, &sdResp); err != nil {
		return nil, issuanceErr("credential %s: %v", openid4vci.ConfigSDJWT, err)
	}
	var sdjwts []string
	for i, ic := range sdResp.Credentials {
		var s string
		if err := json.Unmarshal(ic.Credential, &s); err != nil {
			return nil, issuanceErr("credentials[%d] of %s is not a compact SD-JWT", i, openid4vci.ConfigSDJWT)
		}
		sdjwts = append(sdjwts, s)
	}
	var zkResp openid4vci.CredentialResponse
	zkReq := openid4vci.CredentialRequest{CredentialConfigurationID: openid4vci.ConfigZK, HolderCommitment: hr.HolderCommitment}
	if err := c.postJSON(meta.CredentialEndpoint, tok.AccessToken, &zkReq, &zkResp); err != nil {
		return nil, issuanceErr("credential %s: %v", openid4vci.ConfigZK, err)
	}
	if len(zkResp.Credentials) != 1 {
		return nil, issuanceErr("%d credentials of %s, want 1", len(zkResp.Credentials), openid4vci.ConfigZK)
	}
	var zk openid4vci.ZKCredential
	if err := json.Unmarshal(zkResp.Credentials[0].Credential, &zk); err != nil {
		return nil, issuanceErr("the %s credential: %v", openid4vci.ConfigZK, err)
	}
	// The import checks all of it against the issuer's own publication.
	return w.Import(ctx, zk.Bundle(sdjwts), publication.HTTPSource(base, c.http))
}

// proofSuite picks the suite of the holder keys from the algorithms the
// SD-JWT configuration accepts for proofs, in the issuer's order.
func proofSuite(conf openid4vci.CredentialConfiguration) (jose.Suite, error) {
	pt, ok := conf.ProofTypesSupported[openid4vci.ProofTypeJWT]
	if !ok {
		return "", issuanceErr("the %s configuration takes no jwt proofs", openid4vci.ConfigSDJWT)
	}
	for _, alg := range pt.ProofSigningAlgValuesSupported {
		switch alg {
		case jose.AlgES256:
			return jose.SuiteIntl, nil
		case jose.AlgSM2:
			return jose.SuiteGM, nil
		}
	}
	return "", issuanceErr("the issuer accepts proofs in %q, this wallet signs %s or %s", pt.ProofSigningAlgValuesSupported, jose.AlgSM2, jose.AlgES256)
}

// checkEndpoint accepts an https URL, or http to a loopback address.
func checkEndpoint(name, u string) error {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return issuanceErr("%s %q is not an absolute URL", name, u)
	}
	if err := publication.CheckURL(p.Scheme + "://" + p.Host); err != nil {
		return issuanceErr("%s: %v", name, err)
	}
	return nil
}

// vciClient makes the wallet's requests of one issuance.
type vciClient struct {
	ctx  context.Context
	http *http.Client
}

func (c *vciClient) get(u string, out any) error {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	return c.do(req, out)
}

func (c *vciClient) postJSON(u, token string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.post(u, token, "application/json", data, out)
}

func (c *vciClient) post(u, token, ctype string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.do(req, out)
}

func (c *vciClient) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxOID4VCIResponse+1))
	if err != nil {
		return err
	}
	if len(data) > maxOID4VCIResponse {
		return fmt.Errorf("%s: answer larger than %d bytes", req.URL.Path, maxOID4VCIResponse)
	}
	if resp.StatusCode != http.StatusOK {
		var e openid4vci.ErrorResponse
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s (HTTP %d): %s", e.Error, resp.StatusCode, e.ErrorDescription)
		}
		return fmt.Errorf("HTTP %d from %s", resp.StatusCode, req.URL.Path)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: %v", req.URL.Path, err)
	}
	return nil
}
