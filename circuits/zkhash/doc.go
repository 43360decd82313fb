// Package zkhash is the single definition of every Poseidon2 hash Yinzheng
// computes, natively (gnark-crypto) and inside circuits, over the BN254
// scalar field. The in-circuit permutation is gnark's std gadget with its
// S-box multiplications reordered so that fewer wires reach the Groth16 B
// matrix (see permutation.go); it is checked lane by lane against
// gnark-crypto. The revocation accumulator, the issuer, the holder and
// the presentation circuit all hash through this package, and its tests check
// that the native and in-circuit versions agree bit for bit.
//
// # Constructions
//
// P_t is the Poseidon2 permutation of width t with gnark-crypto's parameters
// for BN254: t=2 with 6 full and 50 partial rounds (gnark's default), t=3
// with 8 and 56 (round keys from gnark-crypto's seed derivation), t=4 with 8
// and 56 (the reference constants). Every construction truncates the output
// to the last lane and feeds the last input lane forward, as gnark's
// Compress does for t=2:
//
//	H_t(x_0, …, x_{t-1}) = P_t(x_0, …, x_{t-1})[t-1] + x_{t-1}
//
// Domain tags are field elements: Tag(name) is SM3("yinzheng:v1:" || name)
// read as a big-endian integer and reduced modulo r.
//
//	HolderCommitment(s)        = H_2(Tag("holder"), s)
//	Pseudonym(s, scope)        = H_3(Tag("pseudonym"), s, scope)
//	Leaf(schema; a, hc, id)    = H_4(Tag("leaf:" || schema), a, hc, id)
//	Node(l; c0, c1, c2, c3)    = H_4(c0, c1, c2, c3) + Tag("node:" || l)   (l = 1 … levels)
//
// # The tree
//
// The accumulator is a 4-ary tree: a tree of depth d (2^d leaves, d even)
// has d/2 levels, and a leaf's path carries three siblings a level. A 4-ary
// level costs one width-4 permutation (264 constraints) where two binary
// levels cost two width-2 ones (372), so a depth-32 path is 16 × 269
// constraints instead of 32 × 188. Bits 2l and 2l+1 of a leaf's index are
// its ancestor's position at level l. Each level's siblings come in the
// order Children takes them: the other member of the node's own pair, then
// the other pair left to right, so that the circuit places the node with
// three multiplications.
//
// Leaves and inner nodes are separated by their tags: the leaf's tag is an
// input lane, each level's node tag is added to the output, which costs no
// constraint. The holder commitment and the pseudonym also put their tag in
// an input lane, because their other inputs may be chosen by an adversary (a
// verifier chooses the scope): an additive output tag would not separate
// them.
//
// testdata/hash-vectors.json holds known answers for every construction
// (tags, the three permutations, commitment, pseudonym, leaf, node, empty
// roots and a depth-32 path) for other implementations to check against.
//
// The empty leaf (a free or revoked slot) is zero. Levels count up from the
// leaves (level 0) to the root (level d/2).
package zkhash
