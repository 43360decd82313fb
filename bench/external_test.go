package bench_test

import (
	"errors"
	"testing"

	"github.com/consensys/gnark/frontend"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/bench/groups"
)

// square is a circuit defined outside the project's packages: Y = X^8,
// in two named groups.
type square struct {
	X frontend.Variable
	Y frontend.Variable `gnark:",public"`
}

func (c *square) Define(api frontend.API) error {
	var x4 frontend.Variable
	groups.Group(api, "x^4", func() {
		x2 := api.Mul(c.X, c.X)
		x4 = api.Mul(x2, x2)
	})
	end := groups.Begin(api, "x^8")
	api.AssertIsEqual(api.Mul(x4, x4), c.Y)
	end()
	return nil
}

// TestCircuitExternal benchmarks a circuit of this test's own package and
// checks that every figure of the report is filled in, for both backends.
func TestCircuitExternal(t *testing.T) {
	const runs = 3
	r, err := bench.Circuit(&square{}, &square{X: 3, Y: 6561}, bench.Options{Runs: runs})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Backends) != 2 || r.Runs != runs {
		t.Fatalf("report %+v", r)
	}
	for _, b := range r.Backends {
		if b.Constraints <= 0 || b.PublicInputs != 1 || b.ProofBytes <= 0 || b.ProvingKeyBytes <= 0 || b.VerifyingKeyBytes <= 0 {
			t.Fatalf("%s: sizes missing: %+v", b.Backend, b)
		}
		for name, s := range map[string]bench.Stats{"witness": b.WitnessMs, "solve": b.SolveMs, "prove": b.ProveMs} {
			if len(s.Raw) != runs || s.Min > s.P25 || s.P25 > s.Median || s.Median > s.P75 || s.P75 > s.Max || s.Max <= 0 {
				t.Fatalf("%s %s: stats %+v", b.Backend, name, s)
			}
		}
		if len(b.VerifyMs.Raw) != 5*runs {
			t.Fatalf("%s: %d verifications", b.Backend, len(b.VerifyMs.Raw))
		}
		sum, named := 0, map[string]int{}
		for _, g := range b.Groups {
			named[g.Name] = g.Constraints
			if g.TopLevel {
				sum += g.Constraints
			}
		}
		if sum != b.Constraints || named["x^4"] < 2 || named["x^8"] < 1 {
			t.Fatalf("%s: groups %+v for %d constraints", b.Backend, b.Groups, b.Constraints)
		}
		if len(b.ProveSplit) == 0 || b.ProveSplitMethod == "" || b.PeakRSSBytes <= 0 {
			t.Fatalf("%s: split %+v (%s), peak %d", b.Backend, b.ProveSplit, b.ProveSplitMethod, b.PeakRSSBytes)
		}
	}
	if g := r.Backend(bench.BackendGroth16); g == nil || len(g.ProveSplit) != 7 {
		t.Fatalf("Groth16 split: %+v", g)
	}
}

// TestCircuitRefusesBadAssignment: an assignment that does not satisfy the
// circuit is refused with ErrInvalidAssignment before any setup.
func TestCircuitRefusesBadAssignment(t *testing.T) {
	_, err := bench.Circuit(&square{}, &square{X: 3, Y: 6560}, bench.Options{Runs: 1, Backends: []string{bench.BackendGroth16}})
	if !errors.Is(err, bench.ErrInvalidAssignment) {
		t.Fatalf("got %v, want ErrInvalidAssignment", err)
	}
	if _, err := bench.Circuit(&square{}, &square{X: 3, Y: 6561}, bench.Options{Backends: []string{"stark"}}); err == nil {
		t.Fatal("unknown backend accepted")
	}
}

func TestNewStats(t *testing.T) {
	s := bench.NewStats([]float64{5, 1, 4, 2, 3})
	if s.Median != 3 || s.Min != 1 || s.Max != 5 || s.P25 != 2 || s.P75 != 4 || s.Raw[0] != 5 {
		t.Fatalf("stats %+v", s)
	}
	if s := bench.NewStats([]float64{1, 2}); s.Median != 1.5 {
		t.Fatalf("even median %+v", s)
	}
}
