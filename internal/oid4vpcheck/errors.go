package oid4vpcheck

import "errors"

// Every rule the checker applies has its own sentinel; errors wrap it
// (errors.Is) and name the offending value. Section numbers are those of
// OpenID for Verifiable Presentations 1.0 (final); RFC 9101 is JAR, RFC
// 7515 JWS.
var (
	// Invocation URL (§5, §5.10, RFC 9101 §5).

	// ErrInvocation: not a URL of the wallet's scheme, unparsable, or a
	// parameter given twice.
	ErrInvocation = errors.New("oid4vpcheck: not an invocation URL of the wallet's scheme")
	// ErrInvocationClientID: the invocation URL has no client_id (a
	// request by reference still names its client, RFC 9101 §5.2).
	ErrInvocationClientID = errors.New("oid4vpcheck: invocation URL without client_id")
	// ErrInvocationRequestURI: no request_uri, or both request and
	// request_uri (RFC 9101 §5).
	ErrInvocationRequestURI = errors.New("oid4vpcheck: invocation URL without exactly one request_uri")
	// ErrRequestURIMethod: request_uri_method is neither "get" nor "post"
	// (case-sensitive, §5.1, error invalid_request_uri_method).
	ErrRequestURIMethod = errors.New("oid4vpcheck: request_uri_method is neither get nor post")

	// Fetching request_uri (§5.10.1, RFC 9101 §5.2, §14 TLS).

	// ErrInsecureURL: a URL the wallet would call is not https (plain
	// http, loopback included, is never accepted).
	ErrInsecureURL = errors.New("oid4vpcheck: not an https URL")
	// ErrFetch: the HTTPS exchange failed (TLS certificate verification
	// included).
	ErrFetch = errors.New("oid4vpcheck: HTTPS request failed")
	// ErrHTTPStatus: the request_uri answered other than 200 (§5.10.2:
	// any HTTP error terminates the process).
	ErrHTTPStatus = errors.New("oid4vpcheck: request_uri did not answer 200")
	// ErrContentType: the request_uri response is not
	// application/oauth-authz-req+jwt (§5.10.1).
	ErrContentType = errors.New("oid4vpcheck: request_uri response is not application/oauth-authz-req+jwt")
	// ErrTooLarge: a document over MaxDocumentSize.
	ErrTooLarge = errors.New("oid4vpcheck: document too large")

	// The JWS (RFC 7515, RFC 9101, §5).

	// ErrJWS: not a compact JWS of three base64url parts whose header and
	// payload are JSON objects.
	ErrJWS = errors.New("oid4vpcheck: not a compact JWS")
	// ErrDuplicateMember: a JSON object with a member name twice (RFC 7515
	// §4, RFC 7519 §4: the strict choice is to reject).
	ErrDuplicateMember = errors.New("oid4vpcheck: duplicate JSON member name")
	// ErrTyp: header typ is not oauth-authz-req+jwt (§5: wallets MUST NOT
	// process such request objects).
	ErrTyp = errors.New("oid4vpcheck: typ is not oauth-authz-req+jwt")
	// ErrAlg: alg missing, "none", symmetric or not one the wallet
	// accepts.
	ErrAlg = errors.New("oid4vpcheck: alg not accepted")
	// ErrAlgKey: alg is not the algorithm of the x5c leaf's key.
	ErrAlgKey = errors.New("oid4vpcheck: alg does not match the leaf key")
	// ErrCrit: a crit header (no extension is understood, RFC 7515
	// §4.1.11).
	ErrCrit = errors.New("oid4vpcheck: crit header not understood")
	// ErrX5C: x5c missing, not a non-empty array of base64 DER
	// certificates (RFC 7515 §4.1.6).
	ErrX5C = errors.New("oid4vpcheck: x5c missing or malformed")
	// ErrChain: the x5c chain does not validate to the wallet's roots.
	ErrChain = errors.New("oid4vpcheck: x5c chain does not validate to a trusted root")
	// ErrKeyUsage: the leaf's KeyUsage does not allow digitalSignature.
	ErrKeyUsage = errors.New("oid4vpcheck: leaf certificate not for digital signatures")
	// ErrSignature: the signature does not verify with the leaf's key.
	ErrSignature = errors.New("oid4vpcheck: signature does not verify with the x5c leaf key")

	// client_id (§5.9, §5.9.3, §5.10.1).

	// ErrClientIDPrefix: client_id has not the x509_san_dns prefix (the
	// only one this wallet supports; origin is reserved, §5.9.3).
	ErrClientIDPrefix = errors.New("oid4vpcheck: client_id prefix not supported")
	// ErrClientIDDNSName: the part after x509_san_dns: is not a DNS name.
	ErrClientIDDNSName = errors.New("oid4vpcheck: x509_san_dns client_id is not a DNS name")
	// ErrClientIDSAN: the DNS name is not a dNSName SAN of the leaf.
	ErrClientIDSAN = errors.New("oid4vpcheck: client_id DNS name is not a dNSName SAN of the leaf")
	// ErrClientIDMismatch: the request object's client_id differs from
	// the invocation URL's (§5.10.1: identical, prefix included).
	ErrClientIDMismatch = errors.New("oid4vpcheck: client_id of the request object differs from the invocation URL's")

	// Request parameters (§5, §5.2, §5.6, §5.8, §8.2, RFC 9101 §4).

	// ErrMissingParameter: a required parameter is absent.
	ErrMissingParameter = errors.New("oid4vpcheck: required parameter missing")
	// ErrParameterType: a parameter of the wrong JSON type.
	ErrParameterType = errors.New("oid4vpcheck: parameter of the wrong type")
	// ErrResponseType: response_type is not vp_token.
	ErrResponseType = errors.New("oid4vpcheck: response_type is not vp_token")
	// ErrResponseMode: response_mode is neither direct_post nor
	// direct_post.jwt (the wallet answers by POST only).
	ErrResponseMode = errors.New("oid4vpcheck: response_mode not direct_post")
	// ErrResponseURI: response_uri is not an absolute https URL without
	// fragment.
	ErrResponseURI = errors.New("oid4vpcheck: response_uri is not an https URL")
	// ErrResponseURIHost: the response_uri host is not the x509_san_dns
	// DNS name (§5.9.3, §8.2).
	ErrResponseURIHost = errors.New("oid4vpcheck: response_uri host is not the client_id's DNS name")
	// ErrRedirectURI: redirect_uri together with response_uri (§8.2).
	ErrRedirectURI = errors.New("oid4vpcheck: redirect_uri present with response_uri")
	// ErrNestedRequest: request or request_uri inside a request object
	// (RFC 9101 §4).
	ErrNestedRequest = errors.New("oid4vpcheck: request or request_uri inside the request object")
	// ErrNonce: nonce with characters outside the URL-safe set, or too
	// short to carry MinNonceLength characters of entropy.
	ErrNonce = errors.New("oid4vpcheck: nonce malformed or too short")
	// ErrState: state not a string of URL-safe characters (or too short
	// when holder binding is not required, §5.3).
	ErrState = errors.New("oid4vpcheck: state malformed")
	// ErrQuery: not exactly one of dcql_query and scope (§5.1).
	ErrQuery = errors.New("oid4vpcheck: not exactly one of dcql_query and scope")
	// ErrAudience: aud is not https://self-issued.me/v2 (§5.8, static
	// discovery: the openid4vp:// scheme).
	ErrAudience = errors.New("oid4vpcheck: aud is not https://self-issued.me/v2")
	// ErrExpired: exp has passed (RFC 7519 §4.1.4).
	ErrExpired = errors.New("oid4vpcheck: request object expired")
	// ErrIssuedAt: iat or nbf in the future, or exp not after iat.
	ErrIssuedAt = errors.New("oid4vpcheck: iat/nbf/exp inconsistent with the clock")
	// ErrTransactionData: transaction_data, which this wallet does not
	// support and so MUST reject (§5.1, §8.4).
	ErrTransactionData = errors.New("oid4vpcheck: transaction_data not supported")
	// ErrClientMetadata: client_metadata or its vp_formats_supported
	// missing or malformed, or a jwks key without kid (§5.1, §11.1).
	ErrClientMetadata = errors.New("oid4vpcheck: client_metadata malformed")
	// ErrFormatNotSupported: a DCQL format the verifier's
	// vp_formats_supported does not list.
	ErrFormatNotSupported = errors.New("oid4vpcheck: DCQL format missing from vp_formats_supported")
	// ErrVerifierInfo: verifier_info not a non-empty array of objects with
	// format and data, or credential_ids naming no credential query.
	ErrVerifierInfo = errors.New("oid4vpcheck: verifier_info malformed")

	// DCQL (§6).

	// ErrDCQLCredentials: credentials missing, empty, or not objects.
	ErrDCQLCredentials = errors.New("oid4vpcheck: dcql credentials not a non-empty array of objects")
	// ErrDCQLID: a credential query id that is not a non-empty string of
	// alphanumerics, _ and -.
	ErrDCQLID = errors.New("oid4vpcheck: dcql credential query id malformed")
	// ErrDCQLDuplicateID: a credential query id used twice.
	ErrDCQLDuplicateID = errors.New("oid4vpcheck: dcql credential query id used twice")
	// ErrDCQLFormat: format missing or not a non-empty string.
	ErrDCQLFormat = errors.New("oid4vpcheck: dcql format missing")
	// ErrDCQLMeta: meta missing or not an object, or (dc+sd-jwt) without
	// a non-empty vct_values array of strings (§B.3.5).
	ErrDCQLMeta = errors.New("oid4vpcheck: dcql meta missing or malformed")
	// ErrDCQLMultiple: multiple not a boolean.
	ErrDCQLMultiple = errors.New("oid4vpcheck: dcql multiple not a boolean")
	// ErrDCQLHolderBinding: require_cryptographic_holder_binding not a
	// boolean.
	ErrDCQLHolderBinding = errors.New("oid4vpcheck: dcql require_cryptographic_holder_binding not a boolean")
	// ErrDCQLTrustedAuthorities: trusted_authorities not a non-empty array
	// of {type, values} objects.
	ErrDCQLTrustedAuthorities = errors.New("oid4vpcheck: dcql trusted_authorities malformed")
	// ErrDCQLClaims: claims not a non-empty array of objects.
	ErrDCQLClaims = errors.New("oid4vpcheck: dcql claims not a non-empty array of objects")
	// ErrDCQLPath: a claims path pointer that is not a non-empty array of
	// strings, nulls and non-negative integers (§7).
	ErrDCQLPath = errors.New("oid4vpcheck: dcql claims path malformed")
	// ErrDCQLDuplicateClaim: two claims queries with the same path (§6.1:
	// verifiers MUST NOT point to the same claim more than once).
	ErrDCQLDuplicateClaim = errors.New("oid4vpcheck: dcql claim asked for twice")
	// ErrDCQLClaimID: a claim id malformed, repeated, or missing while
	// claim_sets is present.
	ErrDCQLClaimID = errors.New("oid4vpcheck: dcql claim id malformed, repeated or missing")
	// ErrDCQLValues: values not a non-empty array of strings, integers or
	// booleans.
	ErrDCQLValues = errors.New("oid4vpcheck: dcql claim values malformed")
	// ErrDCQLClaimSets: claim_sets without claims, not a non-empty array
	// of non-empty arrays of known claim ids.
	ErrDCQLClaimSets = errors.New("oid4vpcheck: dcql claim_sets malformed")
	// ErrDCQLCredentialSets: credential_sets not a non-empty array of
	// {options, required} objects whose options name known credential
	// queries.
	ErrDCQLCredentialSets = errors.New("oid4vpcheck: dcql credential_sets malformed")

	// vp_token (§8.1).

	// ErrVPToken: the vp_token is not a JSON object.
	ErrVPToken = errors.New("oid4vpcheck: vp_token is not a JSON object")
	// ErrVPTokenUnknownID: a key that is no credential query id of the
	// request.
	ErrVPTokenUnknownID = errors.New("oid4vpcheck: vp_token key is not a credential query id")
	// ErrVPTokenArray: a value that is not a non-empty array.
	ErrVPTokenArray = errors.New("oid4vpcheck: vp_token value is not a non-empty array")
	// ErrVPTokenMultiple: more than one presentation for a query without
	// multiple.
	ErrVPTokenMultiple = errors.New("oid4vpcheck: several presentations for a query without multiple")
	// ErrVPTokenMissing: a required credential query (or credential set)
	// is not answered (§6.4.2).
	ErrVPTokenMissing = errors.New("oid4vpcheck: vp_token does not answer a required credential query")
	// ErrPresentation: a presentation that is neither a string nor an
	// object.
	ErrPresentation = errors.New("oid4vpcheck: presentation neither a string nor an object")
	// ErrSDJWT: a dc+sd-jwt presentation that is not an SD-JWT (issuer
	// JWT, disclosures, ~ separated) ending with a KB-JWT.
	ErrSDJWT = errors.New("oid4vpcheck: dc+sd-jwt presentation is not an SD-JWT+KB")
	// ErrKBJWTType: the KB-JWT header typ is not kb+jwt.
	ErrKBJWTType = errors.New("oid4vpcheck: KB-JWT typ is not kb+jwt")
	// ErrKBJWTAudience: the KB-JWT aud is not the client_id (§B.3.6).
	ErrKBJWTAudience = errors.New("oid4vpcheck: KB-JWT aud is not the client_id")
	// ErrKBJWTNonce: the KB-JWT nonce is not the request's (§B.3.6).
	ErrKBJWTNonce = errors.New("oid4vpcheck: KB-JWT nonce is not the request's")
	// ErrKBJWTSDHash: the KB-JWT sd_hash does not bind the SD-JWT it ends.
	ErrKBJWTSDHash = errors.New("oid4vpcheck: KB-JWT sd_hash does not match the SD-JWT")

	// The direct_post answer (§8.2).

	// ErrAnswerStatus: the response_uri did not answer 200.
	ErrAnswerStatus = errors.New("oid4vpcheck: response_uri did not answer 200")
	// ErrAnswerContentType: the answer is not application/json.
	ErrAnswerContentType = errors.New("oid4vpcheck: response_uri answer is not application/json")
	// ErrAnswerBody: the answer body is not a JSON object.
	ErrAnswerBody = errors.New("oid4vpcheck: response_uri answer is not a JSON object")
	// ErrAnswerRedirectURI: redirect_uri not a string holding an absolute
	// https URI.
	ErrAnswerRedirectURI = errors.New("oid4vpcheck: redirect_uri of the answer malformed")
)
