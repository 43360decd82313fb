// Package openid4vci holds the documents of OpenID for Verifiable Credential
// Issuance 1.0 (OpenID4VCI) as Yinzheng speaks them, and the proof of
// possession JWT (its Appendix F.1) with the checks of its Appendix F.4, so
// that the issuer service (issuer/httpapi) and the wallet (holder) share one
// definition of the wire.
//
// Yinzheng issues one credential in two forms, bound to one accumulator leaf:
// the SD-JWT VC (configuration ConfigSDJWT, format dc+sd-jwt, one single-use
// copy per holder key, issued as a batch) and the zero-knowledge credential
// (configuration ConfigZK, format yinzheng-zk). Only the pre-authorized code
// flow is offered: the operator enrols a person and hands them an offer link
// and, out of band, a transaction code (tx_code).
//
// The flow, in the order a wallet runs it:
//
//  1. resolve the offer link (openid-credential-offer://?credential_offer_uri=…)
//     and GET the credential offer;
//  2. GET the credential issuer metadata (MetadataURL) and the authorization
//     server metadata (its token endpoint);
//  3. POST the pre-authorized code and the tx_code to the token endpoint;
//  4. POST the nonce endpoint for a c_nonce;
//  5. POST a credential request for ConfigSDJWT with one proof JWT per
//     SD-JWT copy key (proofs.jwt, all under the one c_nonce) and, as the
//     request extension HolderCommitmentMember, the holder commitment the
//     zero-knowledge form binds to (it has no key to prove possession of: the
//     holder proves knowledge of the secret behind it in every presentation);
//  6. POST a credential request for ConfigZK with the same access token: the
//     zero-knowledge credential of the same issuance.
//
// The access token covers one issuance: step 5 issues, step 6 collects, and
// the token is spent.
package openid4vci

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/yinzheng-id/yinzheng/wire"
)

// Well-known paths (OpenID4VCI §12.2.2; RFC 8414 §3).
const (
	WellKnownCredentialIssuer    = "/.well-known/openid-credential-issuer"
	WellKnownAuthorizationServer = "/.well-known/oauth-authorization-server"
)

// GrantPreAuthorizedCode is the grant type of the pre-authorized code flow.
const GrantPreAuthorizedCode = "urn:ietf:params:oauth:grant-type:pre-authorized_code"

// OfferScheme starts a credential offer link (OpenID4VCI §4.1.3).
const OfferScheme = "openid-credential-offer://"

// Proof types and the typ of a proof JWT (Appendix F.1).
const (
	ProofTypeJWT = "jwt"
	ProofJWTType = "openid4vci-proof+jwt"
)

// Formats and the configurations this issuer offers.
const (
	// FormatSDJWT is the credential format identifier of an SD-JWT VC.
	FormatSDJWT = "dc+sd-jwt"
	// FormatZK is the format identifier of Yinzheng's zero-knowledge
	// credential (a JSON object: ZKCredential).
	FormatZK = "yinzheng-zk"
	// ConfigSDJWT is the SD-JWT VC form of the wangzheng credential.
	ConfigSDJWT = "wangzheng_dc+sd-jwt"
	// ConfigZK is the zero-knowledge form of the same credential.
	ConfigZK = "wangzheng_yinzheng-zk"
)

// HolderCommitmentMember is the credential request extension that carries
// the holder commitment (a BN254 field element, 0x and 64 hex digits) in the request for
// ConfigSDJWT, and the cryptographic binding method of ConfigZK.
const HolderCommitmentMember = "yinzheng_holder_commitment"

// Error codes of the token endpoint (RFC 6749 §5.2, OpenID4VCI §6.3) and the
// credential endpoint (OpenID4VCI §8.3.1.2; RFC 6750 for invalid_token).
const (
	ErrorInvalidRequest                 = "invalid_request"
	ErrorInvalidGrant                   = "invalid_grant"
	ErrorUnsupportedGrantType           = "unsupported_grant_type"
	ErrorInvalidToken                   = "invalid_token"
	ErrorInvalidCredentialRequest       = "invalid_credential_request"
	ErrorUnknownCredentialConfiguration = "unknown_credential_configuration"
	ErrorInvalidProof                   = "invalid_proof"
	ErrorInvalidNonce                   = "invalid_nonce"
	ErrorCredentialRequestDenied        = "credential_request_denied"
)

// CredentialOffer is a credential offer (§4.1.1).
type CredentialOffer struct {
	CredentialIssuer           string   `json:"credential_issuer"`
	CredentialConfigurationIDs []string `json:"credential_configuration_ids"`
	Grants                     Grants   `json:"grants"`
}

// Grants are the grant types of an offer; only the pre-authorized code.
type Grants struct {
	PreAuthorizedCode *PreAuthorizedCodeGrant `json:"urn:ietf:params:oauth:grant-type:pre-authorized_code,omitempty"`
}

// PreAuthorizedCodeGrant is the pre-authorized code of an offer and the
// transaction code the token request must bring with it.
type PreAuthorizedCodeGrant struct {
	PreAuthorizedCode string  `json:"pre-authorized_code"`
	TxCode            *TxCode `json:"tx_code,omitempty"`
}

// TxCode describes the transaction code the person received out of band
// (§4.1.1); the code itself is never in the offer.
type TxCode struct {
	InputMode   string `json:"input_mode,omitempty"` // "numeric" (default) or "text"
	Length      int    `json:"length,omitempty"`
	Description string `json:"description,omitempty"`
}

// CredentialIssuerMetadata is the credential issuer metadata (§12.2.4).
type CredentialIssuerMetadata struct {
	CredentialIssuer                  string                             `json:"credential_issuer"`
	AuthorizationServers              []string                           `json:"authorization_servers,omitempty"`
	CredentialEndpoint                string                             `json:"credential_endpoint"`
	NonceEndpoint                     string                             `json:"nonce_endpoint,omitempty"`
	BatchCredentialIssuance           *BatchCredentialIssuance           `json:"batch_credential_issuance,omitempty"`
	Display                           []Display                          `json:"display,omitempty"`
	CredentialConfigurationsSupported map[string]CredentialConfiguration `json:"credential_configurations_supported"`
}

// BatchCredentialIssuance advertises batch issuance: BatchSize is the
// largest number of proofs (and so of credential copies) one request takes.
type BatchCredentialIssuance struct {
	BatchSize int `json:"batch_size"`
}

// Display is a display name of the issuer or of a credential, in a locale.
type Display struct {
	Name        string `json:"name"`
	Locale      string `json:"locale,omitempty"`
	Description string `json:"description,omitempty"`
}

// CredentialConfiguration is one entry of credential_configurations_supported.
// The members after CredentialMetadata are the ZK configuration's own: its
// proof system and where its keys and roots are published.
type CredentialConfiguration struct {
	Format                               string               `json:"format"`
	Scope                                string               `json:"scope,omitempty"`
	VCT                                  string               `json:"vct,omitempty"`
	CryptographicBindingMethodsSupported []string             `json:"cryptographic_binding_methods_supported,omitempty"`
	CredentialSigningAlgValuesSupported  []string             `json:"credential_signing_alg_values_supported,omitempty"`
	ProofTypesSupported                  map[string]ProofType `json:"proof_types_supported,omitempty"`
	CredentialMetadata                   *CredentialMetadata  `json:"credential_metadata,omitempty"`
	ProofSystem                          string               `json:"proof_system,omitempty"`
	CircuitID                            string               `json:"circuit_id,omitempty"`
	SchemaID                             string               `json:"schema_id,omitempty"`
	AccumulatorDepth                     int                  `json:"accumulator_depth,omitempty"`
	VerifyingKeyURI                      string               `json:"verifying_key_uri,omitempty"`
	AccumulatorRootURI                   string               `json:"accumulator_root_uri,omitempty"`
}

// ProofType describes a proof type a configuration accepts.
type ProofType struct {
	ProofSigningAlgValuesSupported []string `json:"proof_signing_alg_values_supported"`
}

// CredentialMetadata is the display and claims metadata of a configuration.
type CredentialMetadata struct {
	Display []Display `json:"display,omitempty"`
	Claims  []Claim   `json:"claims,omitempty"`
}

// Claim describes one claim of a credential: its path and display names.
type Claim struct {
	Path      []string  `json:"path"`
	Mandatory bool      `json:"mandatory,omitempty"`
	Display   []Display `json:"display,omitempty"`
}

// AuthorizationServerMetadata is the part of the OAuth 2.0 authorization
// server metadata (RFC 8414) a pre-authorized code flow needs.
type AuthorizationServerMetadata struct {
	Issuer              string   `json:"issuer"`
	TokenEndpoint       string   `json:"token_endpoint"`
	GrantTypesSupported []string `json:"grant_types_supported"`
	// PreAuthorizedGrantAnonymousAccessSupported: the token endpoint takes
	// a pre-authorized code without client authentication (§12.3).
	PreAuthorizedGrantAnonymousAccessSupported bool `json:"pre-authorized_grant_anonymous_access_supported"`
}

// TokenResponse is the token endpoint's answer (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// NonceResponse is the nonce endpoint's answer (§7.2).
type NonceResponse struct {
	CNonce string `json:"c_nonce"`
}

// CredentialRequest is a credential request (§8.2). HolderCommitment is
// Yinzheng's extension (HolderCommitmentMember), required in the request for
// ConfigSDJWT.
type CredentialRequest struct {
	CredentialConfigurationID string  `json:"credential_configuration_id,omitempty"`
	CredentialIdentifier      string  `json:"credential_identifier,omitempty"`
	Proofs                    *Proofs `json:"proofs,omitempty"`
	HolderCommitment          string  `json:"yinzheng_holder_commitment,omitempty"`
}

// Proofs are the proofs of possession of a request: one JWT per key.
type Proofs struct {
	JWT []string `json:"jwt"`
}

// CredentialResponse is the credential endpoint's answer (§8.3).
type CredentialResponse struct {
	Credentials []IssuedCredential `json:"credentials"`
}

// IssuedCredential is one credential of a response: a compact SD-JWT (a JSON
// string) for FormatSDJWT, a ZKCredential object for FormatZK.
type IssuedCredential struct {
	Credential json.RawMessage `json:"credential"`
}

// ZKCredential is the credential of format FormatZK: everything of an
// issuance that is not an SD-JWT copy (wire.Bundle without SDJWT). The
// wallet joins it to the SD-JWT copies of the same request into a bundle
// (Bundle) and imports that, with every check of an import.
type ZKCredential struct {
	Issuer        string          `json:"issuer"`
	Serial        uint64          `json:"serial"`
	Wanghao       string          `json:"wanghao"`
	ZK            wire.BundleZK   `json:"zk"`
	Path          wire.BundlePath `json:"path"`
	RootStatement string          `json:"root_statement"`
	Pending       bool            `json:"pending,omitempty"`
}

// SplitBundle splits an issuance bundle into its SD-JWT copies and its
// zero-knowledge credential.
func SplitBundle(b *wire.Bundle) ([]string, *ZKCredential) {
	return b.SDJWT, &ZKCredential{Issuer: b.Issuer, Serial: b.Serial, Wanghao: b.Wanghao, ZK: b.ZK,
		Path: b.Path, RootStatement: b.RootStatement, Pending: b.Pending}
}

// Bundle joins the SD-JWT copies and the zero-knowledge credential of one
// issuance into the bundle a wallet imports.
func (z *ZKCredential) Bundle(sdjwt []string) *wire.Bundle {
	return &wire.Bundle{Version: wire.Version, Issuer: z.Issuer, Serial: z.Serial, Wanghao: z.Wanghao,
		SDJWT: sdjwt, ZK: z.ZK, Path: z.Path, RootStatement: z.RootStatement, Pending: z.Pending}
}

// ErrorResponse is the OAuth 2.0 error shape of the token and credential
// endpoints.
type ErrorResponse struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// ErrOfferLink reports an offer link that is not one this package reads.
var ErrOfferLink = errors.New("openid4vci: not a credential offer link")

// OfferLink is the link (for a QR code or a button) that hands a wallet the
// offer at offerURI, by reference.
func OfferLink(offerURI string) string {
	return OfferScheme + "?" + url.Values{"credential_offer_uri": {offerURI}}.Encode()
}

// ParseOfferLink returns what an offer link holds: the offer URI, or the
// offer itself when it is passed by value (credential_offer). A plain
// http(s) URL is taken as the offer URI.
func ParseOfferLink(link string) (offerURI string, offer *CredentialOffer, err error) {
	link = strings.TrimSpace(link)
	if strings.HasPrefix(link, "https://") || strings.HasPrefix(link, "http://") {
		return link, nil, nil
	}
	rest, ok := strings.CutPrefix(link, OfferScheme)
	if !ok {
		return "", nil, fmt.Errorf("%w: it starts neither with %s nor with http(s)://", ErrOfferLink, OfferScheme)
	}
	rest = strings.TrimPrefix(rest, "/")
	q, ok := strings.CutPrefix(rest, "?")
	if !ok {
		return "", nil, fmt.Errorf("%w: no query after %s", ErrOfferLink, OfferScheme)
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrOfferLink, err)
	}
	uri, byValue := v["credential_offer_uri"], v["credential_offer"]
	switch {
	case len(uri)+len(byValue) != 1:
		return "", nil, fmt.Errorf("%w: it needs exactly one credential_offer_uri or credential_offer", ErrOfferLink)
	case len(uri) == 1:
		return uri[0], nil, nil
	}
	var o CredentialOffer
	if err := json.Unmarshal([]byte(byValue[0]), &o); err != nil {
		return "", nil, fmt.Errorf("%w: credential_offer: %v", ErrOfferLink, err)
	}
	return "", &o, nil
}

// MetadataURL is where the metadata of the credential issuer with this
// identifier is published (§12.2.2): the well-known path goes between the
// host and the identifier's own path.
func MetadataURL(credentialIssuer string) (string, error) {
	return wellKnown(credentialIssuer, WellKnownCredentialIssuer)
}

// AuthorizationServerMetadataURL is where the authorization server with this
// issuer identifier publishes its metadata (RFC 8414 §3.1).
func AuthorizationServerMetadataURL(issuer string) (string, error) {
	return wellKnown(issuer, WellKnownAuthorizationServer)
}

func wellKnown(id, suffix string) (string, error) {
	u, err := url.Parse(id)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("openid4vci: identifier %q is not an http(s) URL without query or fragment", id)
	}
	path := strings.TrimSuffix(u.Path, "/")
	return u.Scheme + "://" + u.Host + suffix + path, nil
}
