package circuits

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	bn254 "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/frontend"
)

// Batch verification checks many Groth16 proofs of one verifying key with a
// single multi-Miller loop and a single final exponentiation. Proof i with
// points (Aᵢ, Bᵢ, Cᵢ) and public inputs xᵢ holds when
//
//	e(Aᵢ, Bᵢ) = e(α, β) · e(Kᵢ, γ) · e(Cᵢ, δ),  Kᵢ = K₀ + Σⱼ xᵢⱼ·Kⱼ.
//
// The batch draws a secret random weight rᵢ per proof and checks
//
//	∏ᵢ e(rᵢ·Aᵢ, Bᵢ) · e((Σᵢ rᵢ)·α, −β) · e(Σᵢ rᵢ·Kᵢ, −γ) · e(Σᵢ rᵢ·Cᵢ, −δ) = 1,
//
// where Σᵢ rᵢ·Kᵢ is one multi-scalar multiplication over the key's Kⱼ with
// the scalars Σᵢ rᵢ·xᵢⱼ. Every proof point is checked to be on the curve and
// in its prime-order subgroup first, so each factor lives in the order-q
// group GT and a wrong proof i contributes dᵢ ≠ 0 to the exponent Σᵢ rᵢ·dᵢ.
// Fixing every other weight, at most one value of rᵢ modulo q cancels it:
// with rᵢ uniform in [1, 2^BatchWeightBits) a batch holding a wrong proof
// passes with probability at most 2^-(BatchWeightBits-1), whatever the
// prover chose, because the weights are drawn after the proofs are fixed
// and never leave the verifier.
//
// 128-bit weights give that bound outright, with no small-exponent
// argument: 64-bit weights would halve the cost of the rᵢ·Aᵢ
// multiplications but leave a forger 2^-64 a try, and every presentation is
// a try.

// BatchWeightBits is the size in bits of the random weights of a batch.
const BatchWeightBits = 128

// Batch errors. A batch that fails names its bad proofs in a *BatchError,
// which wraps ErrBatch and each bad proof's own error (ErrVerification,
// ErrProofEncoding or ErrStatement).
var (
	ErrBatch      = errors.New("circuits: the batch holds proofs that do not verify")
	ErrBatchInput = errors.New("circuits: malformed batch")
)

// BatchError reports which proofs of a batch do not verify. The others did:
// a caller can accept them.
type BatchError struct {
	// Bad lists the indexes of the proofs that do not verify, ascending.
	Bad []int
	// Errs has one entry per proof of the batch: nil for a proof that
	// verifies, its error otherwise.
	Errs []error
}

// Error names every bad proof by its index, with its reason.
func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "circuits: %d of %d proofs of the batch do not verify:", len(e.Bad), len(e.Errs))
	for _, i := range e.Bad {
		fmt.Fprintf(&b, " [%d] %v;", i, e.Errs[i])
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns ErrBatch and the error of every bad proof, so that
// errors.Is finds both.
func (e *BatchError) Unwrap() []error {
	out := []error{ErrBatch}
	for _, i := range e.Bad {
		out = append(out, e.Errs[i])
	}
	return out
}

// BatchItem is one presentation of a batch: the inputs of [Keys.Verify].
type BatchItem struct {
	Statement *Statement
	Pseudonym fr.Element
	Proof     *Proof
}

// VerifyBatch checks that every item's proof proves its statement with its
// pseudonym, as [Keys.Verify] does one at a time, in one batch. It returns
// nil when all verify, a *BatchError naming every bad item otherwise, and
// an ErrBatchInput error for an empty batch.
func (k *Keys) VerifyBatch(items []BatchItem) error {
	if len(items) == 0 {
		return fmt.Errorf("%w: empty batch", ErrBatchInput)
	}
	proofs := make([]*Proof, len(items))
	publics := make([]fr.Vector, len(items))
	errs := make([]error, len(items))
	for i, it := range items {
		proofs[i] = it.Proof
		if it.Statement == nil {
			errs[i] = fmt.Errorf("%w: no statement", ErrStatement)
			continue
		}
		if err := it.Statement.Check(); err != nil {
			errs[i] = err
			continue
		}
		publics[i], errs[i] = publicVector(k.Manifest.Depth, it.Statement, it.Pseudonym)
	}
	return verifyBatch(k.VK, proofs, publics, errs, randomWeights)
}

// publicVector is the public witness of a statement, as Keys.Verify builds it.
func publicVector(depth int, s *Statement, pseudonym fr.Element) (fr.Vector, error) {
	w, err := frontend.NewWitness(publicAssignment(depth, s, pseudonym), ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return nil, fmt.Errorf("circuits: public witness: %w", err)
	}
	v, ok := w.Vector().(fr.Vector)
	if !ok {
		return nil, fmt.Errorf("circuits: public witness is %T, want a BN254 vector", w.Vector())
	}
	return v, nil
}

// VerifyBatch checks Groth16 proofs against one BN254 verifying key:
// publics[i] is the public witness of proofs[i] (without the constant one,
// in the circuit's order). It returns nil when every proof verifies and a
// *BatchError naming every bad proof otherwise; mismatched lengths, an
// empty batch, or a key that is not a BN254 key without commitments give an
// ErrBatchInput error.
func VerifyBatch(vk groth16.VerifyingKey, proofs []*Proof, publics []fr.Vector) error {
	if len(proofs) != len(publics) {
		return fmt.Errorf("%w: %d proofs but %d public witnesses", ErrBatchInput, len(proofs), len(publics))
	}
	return verifyBatch(vk, proofs, publics, make([]error, len(proofs)), randomWeights)
}

// verifyBatch verifies the proofs whose errs entry is nil and fills errs;
// weights draws the random weights (tests substitute fixed ones to show
// that the randomness is what refuses compensating errors).
func verifyBatch(vk groth16.VerifyingKey, proofs []*Proof, publics []fr.Vector, errs []error, weights func([]fr.Element)) error {
	if len(proofs) == 0 {
		return fmt.Errorf("%w: empty batch", ErrBatchInput)
	}
	key, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok || key == nil {
		return fmt.Errorf("%w: verifying key is %T, want a BN254 Groth16 key", ErrBatchInput, vk)
	}
	// Commitments (BSB22) add a Pedersen proof of knowledge and a hashed
	// public input per proof; the presentation circuit has none, and the
	// batch equation above does not cover them.
	if len(key.CommitmentKeys) != 0 || len(key.PublicAndCommitmentCommitted) != 0 {
		return fmt.Errorf("%w: verifying key has commitments, which batch verification does not support", ErrBatchInput)
	}
	if len(key.G1.K) == 0 {
		return fmt.Errorf("%w: verifying key has no public input key", ErrBatchInput)
	}
	var todo []int
	for i := range proofs {
		if errs[i] == nil {
			errs[i] = checkItem(key, proofs[i], publics[i])
		}
		if errs[i] == nil {
			todo = append(todo, i)
		}
	}
	// A single proof goes straight to gnark's verifier (its e(α, β) is
	// precomputed); a failed batch falls back to it one by one: it is the
	// reference, and it names the bad proofs.
	if len(todo) == 1 || len(todo) > 1 && !batchHolds(key, proofs, publics, todo, weights) {
		for _, i := range todo {
			if err := groth16bn254.Verify(&proofs[i].p, key, publics[i]); err != nil {
				errs[i] = fmt.Errorf("%w: %v", ErrVerification, err)
			}
		}
	}
	var bad []int
	for i, err := range errs {
		if err != nil {
			bad = append(bad, i)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &BatchError{Bad: bad, Errs: errs}
}

// checkItem checks what the pairing equation assumes of one proof: its
// points on the curve and in their subgroups, no commitments, and a public
// witness of the key's length.
func checkItem(key *groth16bn254.VerifyingKey, p *Proof, public fr.Vector) error {
	switch {
	case p == nil:
		return fmt.Errorf("%w: no proof", ErrProofEncoding)
	case len(p.p.Commitments) != 0 || !p.p.CommitmentPok.IsInfinity():
		return fmt.Errorf("%w: unexpected commitments", ErrProofEncoding)
	case !p.p.Ar.IsOnCurve() || !p.p.Ar.IsInSubGroup():
		return fmt.Errorf("%w: point A is not in G1", ErrProofEncoding)
	case !p.p.Bs.IsOnCurve() || !p.p.Bs.IsInSubGroup():
		return fmt.Errorf("%w: point B is not in G2", ErrProofEncoding)
	case !p.p.Krs.IsOnCurve() || !p.p.Krs.IsInSubGroup():
		return fmt.Errorf("%w: point C is not in G1", ErrProofEncoding)
	case len(public) != len(key.G1.K)-1:
		return fmt.Errorf("%w: %d public inputs, the key has %d", ErrVerification, len(public), len(key.G1.K)-1)
	}
	return nil
}

// randomWeights fills w with uniform weights in [1, 2^BatchWeightBits)
// from crypto/rand.
func randomWeights(w []fr.Element) {
	var buf [BatchWeightBits / 8]byte
	for i := range w {
		for w[i].IsZero() {
			_, _ = rand.Read(buf[:]) // never fails (Go ≥ 1.24 crashes instead)
			w[i].SetBytes(buf[:])
		}
	}
}

// batchHolds evaluates the batch equation over the proofs listed in idx.
func batchHolds(key *groth16bn254.VerifyingKey, proofs []*Proof, publics []fr.Vector, idx []int, weights func([]fr.Element)) bool {
	n := len(idx)
	r := make([]fr.Element, n)
	weights(r)

	// Scalars of the Kⱼ: Σᵢ rᵢ for K₀ (the constant one), Σᵢ rᵢ·xᵢⱼ for
	// the others; also Σᵢ rᵢ, the weight of α.
	s := make([]fr.Element, len(key.G1.K))
	var t fr.Element
	for i, at := range idx {
		s[0].Add(&s[0], &r[i])
		for j, x := range publics[at] {
			t.Mul(&r[i], &x)
			s[j+1].Add(&s[j+1], &t)
		}
	}

	// Pairs: (rᵢ·Aᵢ, Bᵢ) for each proof, then the three fixed ones.
	P := make([]bn254.G1Affine, n+3)
	Q := make([]bn254.G2Affine, n+3)
	cs := make([]bn254.G1Affine, n)
	for i, at := range idx {
		Q[i] = proofs[at].p.Bs
		cs[i] = proofs[at].p.Krs
	}
	parallel(n, func(lo, hi int) {
		var b big.Int
		for i := lo; i < hi; i++ {
			r[i].BigInt(&b)
			P[i].ScalarMultiplication(&proofs[idx[i]].p.Ar, &b)
		}
	})
	var b big.Int
	P[n].ScalarMultiplication(&key.G1.Alpha, s[0].BigInt(&b))
	var kSum, cSum bn254.G1Jac
	if _, err := kSum.MultiExp(key.G1.K, s, ecc.MultiExpConfig{}); err != nil {
		return false
	}
	if _, err := cSum.MultiExp(cs, r, ecc.MultiExpConfig{}); err != nil {
		return false
	}
	P[n+1].FromJacobian(&kSum)
	P[n+2].FromJacobian(&cSum)
	Q[n].Neg(&key.G2.Beta)
	Q[n+1].Neg(&key.G2.Gamma)
	Q[n+2].Neg(&key.G2.Delta)

	// One multi-Miller loop, split across the available cores, and one
	// final exponentiation.
	var mu sync.Mutex
	var acc bn254.GT
	acc.SetOne()
	failed := false
	parallel(len(P), func(lo, hi int) {
		ml, err := bn254.MillerLoop(P[lo:hi], Q[lo:hi])
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed = true
			return
		}
		acc.Mul(&acc, &ml)
	})
	if failed {
		return false
	}
	e := bn254.FinalExponentiation(&acc)
	return e.IsOne()
}

// parallel runs fn over [0, n) in one chunk per available core (at most one
// chunk per 4 items, so a small batch is not split for nothing).
func parallel(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+3)/4)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}
