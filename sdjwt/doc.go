// Package sdjwt implements Selective Disclosure for JWTs (RFC 9901) and the
// basics of SD-JWT VC: issuance with selectively disclosable object
// properties and array elements (recursively, with decoy digests),
// presentations of any chosen subset with an optional Key Binding JWT, and
// verification that enforces every rejection rule of RFC 9901 Section 7.
//
// Two suites are supported through package jose: "intl" (ES256 and
// "_sd_alg":"sha-256", interoperable with other RFC 9901 implementations)
// and "gm" (SM2 signatures and "_sd_alg":"sm3"). Further digest algorithms
// can be registered by name in a HashRegistry.
//
// Claims are addressed by claim paths in the form used by OpenID4VP DCQL:
// a JSON array whose strings select object properties and whose
// non-negative integers select array elements, for example
// ["address","street"] or ["nationalities",1]. A null component selects
// every element of an array.
package sdjwt
