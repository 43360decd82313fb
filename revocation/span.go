package revocation

import (
	"errors"
	"fmt"
	"slices"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Span deltas. A wallet that has been away for a day at one epoch a minute
// is 1,440 epochs behind; fetching that many deltas is slow, and falling
// back to a bucket tells the issuer which 4^k serials the wallet is among.
// The issuer therefore also publishes, every 2^L epochs, the merge of the
// last 2^L deltas (SpanLevels): what changed over the span, each node at its
// value at the span's end. Every wallet downloads the same spans, so they
// reveal nothing about the holder.
//
// Span i of level L covers epochs i·2^L + 1 … (i+1)·2^L. A path of any epoch
// p with i·2^L ≤ p < (i+1)·2^L is brought to the span's end by it: every
// node changed after p is in the span, with its final value, and a node the
// span carries from before p holds that same final value.

// SpanLevels are the span sizes the issuer publishes, largest first: 2^12
// epochs (2.8 days at one epoch a minute), 2^6 (an hour) and 2^3.
var SpanLevels = []int{12, 6, 3}

// SpanIndex returns the span of level L that holds epoch (≥ 1).
func SpanIndex(epoch uint64, level int) uint64 { return (epoch - 1) >> uint(level) }

// SpanEnd returns the last epoch of span index of level L.
func SpanEnd(index uint64, level int) uint64 { return (index + 1) << uint(level) }

// MergeDeltas merges the deltas of consecutive epochs, oldest first, into
// one: the union of their changed serials, each node at its latest value,
// and the epoch, leaf count and root of the last.
func MergeDeltas(ds []*Delta) (*Delta, error) {
	if len(ds) == 0 {
		return nil, errors.New("revocation: no delta to merge")
	}
	last := ds[len(ds)-1]
	for i, d := range ds {
		if err := d.check(); err != nil {
			return nil, err
		}
		if d.Depth != last.Depth {
			return nil, fmt.Errorf("revocation: merging deltas of depths %d and %d", d.Depth, last.Depth)
		}
		if i > 0 && d.Epoch != ds[i-1].Epoch+1 {
			return nil, fmt.Errorf("revocation: merging the delta of epoch %d after that of epoch %d", d.Epoch, ds[i-1].Epoch)
		}
	}
	levels := len(last.Levels)
	nodes := make([]map[uint64]fr.Element, levels)
	for l := range nodes {
		nodes[l] = map[uint64]fr.Element{}
	}
	var serials []uint64
	for _, d := range ds {
		serials = append(serials, d.Serials...)
		for l := range levels {
			for i, x := range d.Indices(l) {
				nodes[l][x] = d.Levels[l][i]
			}
		}
	}
	slices.Sort(serials)
	serials = slices.Compact(serials)
	out := &Delta{Depth: last.Depth, Epoch: last.Epoch, LeafCount: last.LeafCount, Root: last.Root,
		Serials: serials, Levels: make([][]fr.Element, levels)}
	for l := range levels {
		idx := out.Indices(l)
		out.Levels[l] = make([]fr.Element, len(idx))
		for i, x := range idx {
			out.Levels[l][i] = nodes[l][x]
		}
	}
	return out, nil
}
