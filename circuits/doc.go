// Package circuits holds the zero-knowledge presentation circuit of Yinzheng,
// its keys and the two halves of its API: the holder builds a witness and
// proves; the verifier rebuilds every public input from its own request and
// trusted root, and verifies.
//
// The statement (one circuit for every request):
//
//	leaf  = Leaf(Tag("leaf:wangzheng/v1"), attributes, HolderCommitment(secret), identity)
//	root  = the leaf folded up its path (Directions, Siblings)
//	born_after <= birth <= born_before, expiry >= today, level >= min_level,
//	every flag in required_flags is set in attributes,
//	pseudonym = Pseudonym(secret, scope), nonce bound.
//
// The hashes are defined in package zkhash; the attribute encoding in
// package schemas.
package circuits

// SchemaName names the credential schema the circuit proves statements about;
// it is hashed into the leaf tag.
const SchemaName = "wangzheng/v1"
