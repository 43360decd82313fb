// Package revocation is Yinzheng's revocation accumulator: a fixed-depth
// 4-ary Poseidon2 Merkle tree over every credential ever issued, kept in an
// embedded Badger directory.
//
// A credential's serial is its leaf index. While the credential is valid the
// leaf is the zero-knowledge credential's leaf (computed by the issuer with
// zkhash.Leaf); once revoked the leaf is the empty value, zero. The same tree
// therefore proves issuance and non-revocation inside the presentation
// circuit, and it hashes exactly as the circuit does: every inner node is
// zkhash.Node over four children, empty subtrees are zkhash.EmptyRoots, and
// a path carries three siblings a level in the order of zkhash.Siblings.
//
// A tree's depth is its number of index bits (2^depth serials; 32 in
// production) and is even: the tree has depth/2 levels, level 0 the
// leaves and level depth/2 the root. The ancestor of a serial at level l
// has index serial>>(2l).
//
// # Storage
//
// Only non-empty nodes are stored, as groups: the four children of one
// inner node in one record keyed by (level, parent index); an absent group
// is four empty subtrees. A batch of appends and revocations is applied in
// one Badger transaction, so it is atomic and a crash leaves the store at
// the old or the new state, never between. Readers use Badger snapshots and
// always see a consistent root and path.
//
// # Epochs and witnesses
//
// Publish freezes the current root as an epoch and signs a root statement (a
// compact JWS) with the issuer key. For every epoch the store keeps one delta:
// the changed leaves and the new nodes along their paths, each shared node
// once. Every holder downloads the same delta and updates its own path with
// UpdatePath, so the issuer never learns which credential is kept fresh. A
// holder that missed epochs fetches a Bucket (the 4^k leaves of the level-k
// subtree around its serial and the path above them) and rebuilds its path
// with PathFromBucket.
//
// # Status list
//
// Revoke also sets the credential's bit in an IETF Token Status List (one bit
// per credential), served as a signed statuslist+jwt for the SD-JWT form, so
// both forms always agree.
package revocation
