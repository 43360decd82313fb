// Package schemas defines the wangzheng v1 credential schema of Yinzheng: its
// attributes, their validation, the JSON Schema of the SD-JWT VC claims, and
// the field encoding the zero-knowledge presentation circuit proves
// statements about.
//
// The encoding, fixed by the circuit and specified in
// docs/schema-wangzheng-v1.md, is:
//
//   - dates as day codes: days since 1970-01-01 plus DateOffset, in
//     [0, 2^DateBits), so that birth dates before 1970 encode;
//   - the packed predicate word: birth and expiry codes, verification level
//     and the guardian flags in one field element of PackedBits bits;
//   - the identity element: every other attribute and a salt, hashed to one
//     BN254 scalar by RFC 9380 hash_to_field with expand_message_xmd over SM3;
//   - the verifier's scope and nonce, hashed to the field the same way under
//     their own domain separation tags.
//
// The package sits at the bottom of the project: it imports no other
// Yinzheng package.
package schemas
