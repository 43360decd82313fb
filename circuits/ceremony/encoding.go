package ceremony

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
)

// Sizes of gnark's canonical encoding: points compressed, a challenge is
// a SHA-256 digest behind a one-byte length.
const (
	g1Size        = curve.SizeOfG1AffineCompressed
	g2Size        = curve.SizeOfG2AffineCompressed
	proofSize     = g1Size + g2Size // mpcsetup.UpdateProof: [x]₁, π ∈ 𝔾₂
	challengeSize = sha256.Size
)

// errLayout is the cause of every refusal of a file's layout.
var errLayout = errors.New("not a canonical gnark encoding")

// layout walks the canonical encoding of a phase object before gnark
// decodes it. gnark's decoder allocates whatever a length prefix says
// before reading the elements, so a forged prefix could exhaust memory:
// the walk bounds every prefix by the bytes that follow and checks every
// point is compressed, so that the decoder reads the prefixes the walk saw.
type layout struct {
	data []byte
	off  int
	err  error
}

func (l *layout) fail(format string, a ...any) {
	if l.err == nil {
		l.err = fmt.Errorf("%w: "+format+" at byte %d", append(append([]any{errLayout}, a...), l.off)...)
	}
}

func (l *layout) take(n int) []byte {
	if l.err != nil {
		return nil
	}
	if n < 0 || n > len(l.data)-l.off {
		l.fail("truncated")
		return nil
	}
	b := l.data[l.off : l.off+n]
	l.off += n
	return b
}

// points skips n compressed points of the given size.
func (l *layout) points(n, size int) {
	if l.err == nil && n > (len(l.data)-l.off)/size {
		l.fail("%d points do not fit in the %d bytes left", n, len(l.data)-l.off)
		return
	}
	for range n {
		if b := l.take(size); b != nil && b[0]&(0b11<<6) == 0 {
			l.off -= size
			l.fail("uncompressed point")
			return
		}
	}
}

func (l *layout) uint(n int) uint64 {
	b := l.take(n)
	if b == nil {
		return 0
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// slice skips a length-prefixed slice of G1 points.
func (l *layout) slice() { l.points(int(l.uint(4)), g1Size) }

func (l *layout) proofs(n int) {
	for range n {
		l.points(1, g1Size)
		l.points(1, g2Size)
	}
}

// challenge skips the trailing challenge and checks nothing follows.
func (l *layout) challenge(want int) {
	if n := int(l.uint(1)); l.err == nil && n != want {
		l.fail("challenge of %d bytes, want %d", n, want)
	}
	l.take(want)
	if l.err == nil && l.off != len(l.data) {
		l.fail("%d trailing bytes", len(l.data)-l.off)
	}
}

// checkPhase1Layout checks data is a Phase1 object for domain size n
// whose challenge has challengeLen bytes.
func checkPhase1Layout(data []byte, n uint64, challengeLen int) error {
	l := &layout{data: data}
	l.proofs(3) // τ, α, β
	if got := l.uint(8); l.err == nil && got != n {
		l.fail("domain size %d, want %d", got, n)
	}
	if l.err != nil {
		return l.err
	}
	// The rest has no length prefix: [β]₂, [τⁱ]₁ (i = 1…2N-2), [τⁱ]₂
	// (i = 1…N-1), [βτⁱ]₁ and [ατⁱ]₁ (i = 0…N-1), then the challenge.
	l.points(1, g2Size)
	l.points(int(2*n-2), g1Size)
	l.points(int(n-1), g2Size)
	l.points(int(2*n), g1Size)
	l.challenge(challengeLen)
	return l.err
}

// checkPhase2Layout checks data is a Phase2 object whose challenge has
// challengeLen bytes.
func checkPhase2Layout(data []byte, challengeLen int) error {
	l := &layout{data: data}
	commitments := int(l.uint(2))
	l.points(1, g1Size) // [δ]₁
	l.slice()           // PKK
	l.slice()           // Z
	l.points(1, g2Size) // [δ]₂
	for range commitments {
		l.slice() // SigmaCKK[i]
	}
	l.points(commitments, g2Size) // σ
	l.proofs(1 + commitments)     // δ, σ
	l.challenge(challengeLen)
	return l.err
}

// encode returns gnark's canonical encoding of v.
func encode(v io.WriterTo) []byte {
	var b bytes.Buffer
	if _, err := v.WriteTo(&b); err != nil {
		// Writing to a bytes.Buffer fails only on an object gnark cannot
		// encode (a challenge over 255 bytes), which this package never builds.
		panic("ceremony: encode: " + err.Error())
	}
	return b.Bytes()
}

// decodePhase1 decodes a Phase1 object after checking its layout, and
// refuses any encoding but the canonical one: the digest of the file is
// then the challenge the next contribution signs.
func decodePhase1(data []byte, n uint64, challengeLen int) (*mpcsetup.Phase1, error) {
	if err := checkPhase1Layout(data, n, challengeLen); err != nil {
		return nil, err
	}
	p := new(mpcsetup.Phase1)
	if err := readCanonical(p, data); err != nil {
		return nil, err
	}
	return p, nil
}

// decodePhase2 is decodePhase1 for Phase2 objects.
func decodePhase2(data []byte, challengeLen int) (*mpcsetup.Phase2, error) {
	if err := checkPhase2Layout(data, challengeLen); err != nil {
		return nil, err
	}
	p := new(mpcsetup.Phase2)
	if err := readCanonical(p, data); err != nil {
		return nil, err
	}
	return p, nil
}

type readWriter interface {
	io.ReaderFrom
	io.WriterTo
}

func readCanonical(p readWriter, data []byte) error {
	// gnark's decoder checks that every point is on the curve and in the
	// prime-order subgroup, which mpcsetup's Verify assumes.
	if n, err := p.ReadFrom(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("%w: %v", errLayout, err)
	} else if n != int64(len(data)) {
		return fmt.Errorf("%w: %d trailing bytes", errLayout, int64(len(data))-n)
	}
	if !bytes.Equal(encode(p), data) {
		return fmt.Errorf("%w: a point is not in its canonical form", errLayout)
	}
	return nil
}

// digest is the SHA-256 of a contribution file: what its contributor
// publishes, and the challenge that the next contribution's proofs of
// knowledge are bound to (mpcsetup hashes the previous object so).
func digest(data []byte) []byte {
	d := sha256.Sum256(data)
	return d[:]
}

// challengeOf returns the challenge stored at the end of an object.
func challengeOf(data []byte) []byte {
	return data[len(data)-challengeSize:]
}

func putUint32(b *bytes.Buffer, v uint32) {
	var buf [4]byte
	binary.BigEndian.PutUint32(buf[:], v)
	b.Write(buf[:])
}
