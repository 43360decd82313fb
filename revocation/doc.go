// Package revocation is Yinzheng's revocation accumulator: a fixed-depth
// Poseidon2 Merkle tree over every credential ever issued, kept in an
// embedded Badger directory.
//
// A credential's serial is its leaf index. While the credential is valid the
// leaf is the zero-knowledge credential's leaf (computed by the issuer with
// zkhash.Leaf); once revoked the leaf is the empty value, zero. The same tree
// therefore proves issuance and non-revocation inside the presentation
// circuit, and it hashes exactly as the circuit does: every node is
// zkhash.Node, and empty subtrees are zkhash.EmptyRoots.
//
// # Storage
//
// Only non-empty nodes are stored, keyed by (height, index); an absent node is
// the empty subtree of its height. A batch of appends and revocations is
// applied in one Badger transaction, so it is atomic and a crash leaves the
// store at the old or the new state, never between. Readers use Badger
// snapshots and always see a consistent root and path.
//
// # Epochs and witnesses
//
// Publish freezes the current root as an epoch and signs a root statement (a
// compact JWS) with the issuer key. For every epoch the store keeps one delta:
// the changed leaves and the new nodes along their paths, each shared node
// once. Every holder downloads the same delta and updates its own path with
// UpdatePath, so the issuer never learns which credential is kept fresh. A
// holder that missed epochs fetches a Bucket (2^k leaves around its serial
// and the path above them) and rebuilds its path with PathFromBucket.
//
// # Status list
//
// Revoke also sets the credential's bit in an IETF Token Status List (one bit
// per credential), served as a signed statuslist+jwt for the SD-JWT form, so
// both forms always agree.
package revocation
