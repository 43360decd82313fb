package revocation

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
)

// JSON forms, for the CLI and for holders that speak JSON. Field elements
// are zkhash.FormatElement strings.

type pathJSON struct {
	Serial    uint64   `json:"serial"`
	Leaf      string   `json:"leaf"`
	Siblings  []string `json:"siblings"`
	Root      string   `json:"root"`
	LeafCount uint64   `json:"leaf_count"`
}

// MarshalJSON writes {serial, leaf, siblings (three a level, bottom up, in
// zkhash.Siblings order), root, leaf_count}.
func (p *Path) MarshalJSON() ([]byte, error) {
	return json.Marshal(pathJSON{
		Serial: p.Serial, Leaf: zkhash.FormatElement(p.Leaf), Siblings: formatAll(p.Siblings),
		Root: zkhash.FormatElement(p.Root), LeafCount: p.LeafCount,
	})
}

// UnmarshalJSON reads the form MarshalJSON writes and checks that the path
// folds to its root.
func (p *Path) UnmarshalJSON(data []byte) error {
	var j pathJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("revocation: path JSON: %w", err)
	}
	per, maxSiblings := zkhash.SiblingsPerLevel, zkhash.PathLength(MaxDepth)
	if len(j.Siblings) < per || len(j.Siblings) > maxSiblings || len(j.Siblings)%per != 0 {
		return fmt.Errorf("revocation: path of %d siblings, want a multiple of %d (one level of the 4-ary tree) from %d to %d",
			len(j.Siblings), per, per, maxSiblings)
	}
	out := Path{Serial: j.Serial, LeafCount: j.LeafCount}
	var err error
	if out.Leaf, err = zkhash.ParseElement(j.Leaf); err != nil {
		return fmt.Errorf("revocation: path leaf: %w", err)
	}
	if out.Root, err = zkhash.ParseElement(j.Root); err != nil {
		return fmt.Errorf("revocation: path root: %w", err)
	}
	if out.Siblings, err = parseAll(j.Siblings); err != nil {
		return fmt.Errorf("revocation: path sibling: %w", err)
	}
	if err := out.Verify(); err != nil {
		return err
	}
	*p = out
	return nil
}

type deltaJSON struct {
	Depth     int              `json:"depth"`
	Epoch     uint64           `json:"epoch"`
	LeafCount uint64           `json:"leaf_count"`
	Root      string           `json:"root"`
	Leaves    []deltaLeafJSON  `json:"leaves"`
	Nodes     []deltaNodeJSON  `json:"nodes"`
	Binary    deltaBinarySizes `json:"binary"`
}

type deltaLeafJSON struct {
	Serial uint64 `json:"serial"`
	Value  string `json:"value"`
}

type deltaNodeJSON struct {
	Level int    `json:"level"`
	Index uint64 `json:"index"`
	Value string `json:"value"`
}

type deltaBinarySizes struct {
	Bytes int `json:"bytes"` // size of the binary encoding, for comparison
}

// MarshalJSON writes the delta with explicit indices: {depth, epoch,
// leaf_count, root, leaves: [{serial, value}], nodes: [{level, index,
// value}] (levels 1 … depth/2-1), binary: {bytes}}.
func (d *Delta) MarshalJSON() ([]byte, error) {
	bin, err := d.MarshalBinary()
	if err != nil {
		return nil, err
	}
	j := deltaJSON{
		Depth: d.Depth, Epoch: d.Epoch, LeafCount: d.LeafCount, Root: zkhash.FormatElement(d.Root),
		Leaves: make([]deltaLeafJSON, len(d.Serials)), Nodes: []deltaNodeJSON{}, Binary: deltaBinarySizes{Bytes: len(bin)},
	}
	for i, s := range d.Serials {
		j.Leaves[i] = deltaLeafJSON{Serial: s, Value: zkhash.FormatElement(d.Levels[0][i])}
	}
	for l := 1; l < len(d.Levels); l++ {
		for i, x := range d.Indices(l) {
			j.Nodes = append(j.Nodes, deltaNodeJSON{Level: l, Index: x, Value: zkhash.FormatElement(d.Levels[l][i])})
		}
	}
	return json.Marshal(j)
}

type bucketJSON struct {
	Depth       int      `json:"depth"`
	K           int      `json:"k"`
	Index       uint64   `json:"index"`
	FirstSerial uint64   `json:"first_serial"`
	LeafCount   uint64   `json:"leaf_count"`
	Root        string   `json:"root"`
	Leaves      []string `json:"leaves"`
	Above       []string `json:"above"`
}

// MarshalJSON writes {depth, k, index, first_serial, leaf_count, root,
// leaves (4^k), above (three siblings a level from level k up)}.
func (b *Bucket) MarshalJSON() ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	return json.Marshal(bucketJSON{
		Depth: b.Depth, K: b.K, Index: b.Index, FirstSerial: b.Index * uint64(len(b.Leaves)), LeafCount: b.LeafCount,
		Root: zkhash.FormatElement(b.Root), Leaves: formatAll(b.Leaves), Above: formatAll(b.Above),
	})
}

func formatAll(es []fr.Element) []string {
	out := make([]string, len(es))
	for i := range es {
		out[i] = zkhash.FormatElement(es[i])
	}
	return out
}

func parseAll(ss []string) ([]fr.Element, error) {
	out := make([]fr.Element, len(ss))
	for i, s := range ss {
		var err error
		if out[i], err = zkhash.ParseElement(s); err != nil {
			return nil, errors.Join(fmt.Errorf("element %d", i), err)
		}
	}
	return out, nil
}
