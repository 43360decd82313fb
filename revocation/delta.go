package revocation

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
)

// Delta is what changed in one epoch: the changed leaves and, for each
// level, the new nodes along their paths, every shared node once. Node
// indices are not carried: at level l they are the distinct serial>>(2l), in
// ascending order, so the encoding is the serials plus 32 bytes a node.
type Delta struct {
	Depth     int // index bits; the tree has Depth/2 levels
	Epoch     uint64
	LeafCount uint64     // serials issued at the end of the epoch
	Root      fr.Element // root at the end of the epoch
	Serials   []uint64   // changed leaves, strictly ascending
	// Levels[l][i] is the node at level l (0 = leaves, up to Depth/2-1)
	// and index Indices(l)[i]. The root (level Depth/2) is Root.
	Levels [][]fr.Element

	rank [][]int // rank[l][i]: position of Serials[i]'s ancestor at level l
}

// ancestor returns the index of serial's ancestor at level l.
func ancestor(serial uint64, l int) uint64 { return serial >> uint(l*zkhash.LevelBits) }

// Indices returns the indices of the nodes the delta carries at level l:
// the distinct serial>>(2l), ascending.
func (d *Delta) Indices(l int) []uint64 {
	out := make([]uint64, 0, len(d.Serials))
	for i, s := range d.Serials {
		x := ancestor(s, l)
		if i == 0 || x != out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}

// Node returns the node at (level l, index) if the delta carries it.
func (d *Delta) Node(l int, index uint64) (fr.Element, bool) {
	if l < 0 || l >= len(d.Levels) {
		return fr.Element{}, false
	}
	// Indices at level l are monotone in the serial order, so a binary
	// search over the serials finds the first serial under index.
	i := sort.Search(len(d.Serials), func(i int) bool { return ancestor(d.Serials[i], l) >= index })
	if i == len(d.Serials) || ancestor(d.Serials[i], l) != index {
		return fr.Element{}, false
	}
	// Position of that node among the distinct indices: count distinct
	// values before serial i.
	pos := d.position(l, i)
	return d.Levels[l][pos], true
}

// position counts the distinct serial>>(2l) among Serials[:i].
func (d *Delta) position(l int, i int) int {
	if d.rank == nil {
		d.buildRank()
	}
	return d.rank[l][i]
}

// buildRank precomputes, for every level and serial position, the rank of
// that serial's ancestor among the distinct ancestors of the level.
func (d *Delta) buildRank() {
	d.rank = make([][]int, len(d.Levels))
	for l := range d.Levels {
		r := make([]int, len(d.Serials))
		n := -1
		for i, s := range d.Serials {
			if i == 0 || ancestor(s, l) != ancestor(d.Serials[i-1], l) {
				n++
			}
			r[i] = n
		}
		d.rank[l] = r
	}
}

// UpdatePath brings a holder's path at the end of epoch E-1 to the end of
// epoch E using E's delta alone: the leaf and each of the three siblings a
// level that the delta carries are replaced, and the result must fold to
// the delta's root.
func UpdatePath(p *Path, d *Delta) (*Path, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	levels := len(d.Levels)
	if len(p.Siblings) != levels*zkhash.SiblingsPerLevel {
		return nil, fmt.Errorf("revocation: path of %d siblings, a delta of depth %d needs %d", len(p.Siblings), d.Depth, zkhash.PathLength(d.Depth))
	}
	if p.Serial >= d.LeafCount {
		return nil, fmt.Errorf("%w: serial %d beyond the delta's leaf count %d", ErrUnknownSerial, p.Serial, d.LeafCount)
	}
	out := &Path{Serial: p.Serial, Leaf: p.Leaf, Siblings: slices.Clone(p.Siblings), Root: d.Root, LeafCount: d.LeafCount}
	if v, ok := d.Node(0, p.Serial); ok {
		out.Leaf = v
	}
	for l := range levels {
		x := ancestor(p.Serial, l)
		first := x &^ (zkhash.Arity - 1) // index of the group's first child
		sib := (*[zkhash.SiblingsPerLevel]fr.Element)(out.Siblings[l*zkhash.SiblingsPerLevel:])
		// Lay the siblings out as the four children (the node's own slot
		// is not used), replace those the delta carries, and read them
		// back in path order.
		g := zkhash.Children(fr.Element{}, x, *sib)
		updated := false
		for j := range uint64(zkhash.Arity) {
			if first+j == x {
				continue
			}
			if v, ok := d.Node(l, first+j); ok {
				g[j], updated = v, true
			}
		}
		if updated {
			*sib = zkhash.Siblings(g, x)
		}
	}
	if err := out.Verify(); err != nil {
		return nil, fmt.Errorf("revocation: delta of epoch %d does not bring this path to its root (the path is not from epoch %d, or the delta was altered)", d.Epoch, d.Epoch-1)
	}
	return out, nil
}

// deltaMagic and deltaVersion open the binary encoding of a delta. Version
// 2 is the 4-ary tree (version 1 carried one node a height of a binary tree).
const (
	deltaMagic   = "YZRD"
	deltaVersion = 2
)

// MarshalBinary encodes the delta:
//
//	"YZRD" | version | depth | uvarint epoch | uvarint leaf count | root (32)
//	| uvarint n | n uvarint serial gaps (first absolute, then differences)
//	| bitmap of zero leaves (⌈n/8⌉, LSB first) | the non-zero leaves (32 each)
//	| for l = 1 … depth/2-1: the nodes of level l (32 each, count implied)
func (d *Delta) MarshalBinary() ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	size := 64 + len(d.Serials)*(binary.MaxVarintLen64+1)
	for _, l := range d.Levels {
		size += len(l) * fr.Bytes
	}
	b := make([]byte, 0, size)
	b = append(b, deltaMagic...)
	b = append(b, deltaVersion, byte(d.Depth))
	b = binary.AppendUvarint(b, d.Epoch)
	b = binary.AppendUvarint(b, d.LeafCount)
	b = appendElement(b, d.Root)
	b = binary.AppendUvarint(b, uint64(len(d.Serials)))
	var prev uint64
	for _, s := range d.Serials {
		b = binary.AppendUvarint(b, s-prev)
		prev = s
	}
	b = appendLeaves(b, d.Levels[0])
	for l := 1; l < len(d.Levels); l++ {
		for _, e := range d.Levels[l] {
			b = appendElement(b, e)
		}
	}
	return b, nil
}

// check verifies the delta's shape: an even depth, serials ascending and in
// range, and one node per distinct ancestor at every level.
func (d *Delta) check() error {
	levels, err := levelsOf("delta", d.Depth)
	if err != nil {
		return err
	}
	if len(d.Levels) != levels {
		return fmt.Errorf("revocation: delta has %d levels, depth %d needs %d", len(d.Levels), d.Depth, levels)
	}
	if d.LeafCount > uint64(1)<<uint(d.Depth) {
		return fmt.Errorf("revocation: delta leaf count %d exceeds a tree of depth %d", d.LeafCount, d.Depth)
	}
	for i, s := range d.Serials {
		if i > 0 && s <= d.Serials[i-1] {
			return errors.New("revocation: delta serials are not strictly ascending")
		}
		if s >= d.LeafCount {
			return fmt.Errorf("revocation: delta serial %d beyond its leaf count %d", s, d.LeafCount)
		}
	}
	for l := range d.Levels {
		if want := len(d.Indices(l)); len(d.Levels[l]) != want {
			return fmt.Errorf("revocation: delta has %d nodes at level %d, its serials need %d", len(d.Levels[l]), l, want)
		}
	}
	return nil
}

// UnmarshalBinary decodes the form MarshalBinary writes, refusing anything
// truncated, extended or out of range.
func (d *Delta) UnmarshalBinary(data []byte) error {
	r := &reader{b: data, what: "delta"}
	if string(r.take(len(deltaMagic))) != deltaMagic {
		return errors.New("revocation: not a delta (bad magic)")
	}
	if v := r.byte(); r.err == nil && v != deltaVersion {
		return fmt.Errorf("revocation: delta version %d, this build reads %d", v, deltaVersion)
	}
	out := Delta{Depth: int(r.byte())}
	if r.err != nil {
		return r.err
	}
	levels, err := levelsOf("delta", out.Depth)
	if err != nil {
		return err
	}
	out.Epoch = r.uvarint()
	out.LeafCount = r.uvarint()
	out.Root = r.element()
	if r.err == nil && out.LeafCount > uint64(1)<<uint(out.Depth) {
		return fmt.Errorf("revocation: delta leaf count %d exceeds a tree of depth %d", out.LeafCount, out.Depth)
	}
	n := r.count(1)
	out.Serials = make([]uint64, 0, n)
	var prev uint64
	for i := 0; i < n && r.err == nil; i++ {
		gap := r.uvarint()
		if i > 0 && gap == 0 || prev+gap < prev {
			return errors.New("revocation: delta serials are not strictly ascending")
		}
		prev += gap
		out.Serials = append(out.Serials, prev)
	}
	if r.err != nil {
		return r.err
	}
	if n > 0 && prev >= out.LeafCount {
		return fmt.Errorf("revocation: delta serial %d beyond its leaf count %d", prev, out.LeafCount)
	}
	out.Levels = make([][]fr.Element, levels)
	out.Levels[0] = r.leaves(n)
	for l := 1; l < levels && r.err == nil; l++ {
		m := len(out.Indices(l))
		if m*fr.Bytes > len(r.b) {
			return fmt.Errorf("revocation: delta truncated at level %d", l)
		}
		out.Levels[l] = make([]fr.Element, m)
		for i := range out.Levels[l] {
			out.Levels[l][i] = r.element()
		}
	}
	if err := r.end(); err != nil {
		return err
	}
	*d = out
	return nil
}

func appendElement(b []byte, e fr.Element) []byte {
	x := e.Bytes()
	return append(b, x[:]...)
}

// appendLeaves writes a bitmap of zero leaves, then the non-zero ones.
func appendLeaves(b []byte, leaves []fr.Element) []byte {
	bitmap := make([]byte, (len(leaves)+7)/8)
	for i := range leaves {
		if leaves[i].IsZero() {
			bitmap[i/8] |= 1 << (i % 8)
		}
	}
	b = append(b, bitmap...)
	for i := range leaves {
		if !leaves[i].IsZero() {
			b = appendElement(b, leaves[i])
		}
	}
	return b
}

// reader decodes the binary forms; the first error sticks.
type reader struct {
	b    []byte
	what string
	err  error
}

func (r *reader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("revocation: "+r.what+": "+format, a...)
	}
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.fail("truncated")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte() byte {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("truncated or overlong varint")
		return 0
	}
	// One encoding per value: a padded varint (0x80 0x00 for 0) would make
	// two byte strings decode to one delta.
	if n != len(binary.AppendUvarint(nil, v)) {
		r.fail("non-minimal varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length whose items take at least minBytes each, so a forged
// length cannot make the decoder allocate more than the input justifies.
func (r *reader) count(minBytes int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/minBytes) {
		r.fail("count %d exceeds the remaining %d bytes", n, len(r.b))
		return 0
	}
	return int(n)
}

func (r *reader) element() fr.Element {
	var e fr.Element
	b := r.take(fr.Bytes)
	if b != nil && e.SetBytesCanonical(b) != nil {
		r.fail("field element not below the BN254 scalar field modulus")
	}
	return e
}

// leaves reads n leaves written by appendLeaves.
func (r *reader) leaves(n int) []fr.Element {
	bitmap := r.take((n + 7) / 8)
	out := make([]fr.Element, n)
	if r.err != nil {
		return out
	}
	for i := range out {
		if bitmap[i/8]>>(i%8)&1 == 0 {
			out[i] = r.element()
			if r.err == nil && out[i].IsZero() {
				r.fail("zero leaf not marked in the bitmap")
			}
		}
	}
	if n%8 != 0 && bitmap[len(bitmap)-1]>>(n%8) != 0 {
		r.fail("bitmap has bits beyond its leaves")
	}
	return out
}

func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}
