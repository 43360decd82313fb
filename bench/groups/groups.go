// Package groups names parts of a gnark circuit's Define so that a
// benchmark can report how many constraints each part adds.
//
// Annotating a circuit never changes what it compiles to: outside a
// [Record]ed compilation, [Begin] and [Group] only run the code they wrap.
// Inside one, they count constraints with gnark's own profiler
// (github.com/consensys/gnark/profile): every constraint the R1CS or SCS
// builder adds passes through constraint.System.AddR1C or AddSparseR1C,
// which report it to each open profiling session. A group is one session
// opened at Begin and closed at its end; nested groups are counted in their
// parent too. The builders in gnark v0.16.3 expose no constraint counter
// through api.Compiler(), which is why the profiler is used.
//
// gnark's profiler is process-wide: a compilation running in another
// goroutine while a recorded one runs would be counted too. [Record] detects
// it (more constraints seen than compiled) and returns [ErrConcurrentCompile].
// Constraints that a builder adds in deferred callbacks (api.Defer, after
// Define returns) fall in no group.
package groups

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/profile"
)

// ErrConcurrentCompile reports that the profiler saw constraints from
// another compilation while one was recorded, so the counts are unusable.
var ErrConcurrentCompile = errors.New("groups: another circuit compiled concurrently; constraint counts are unreliable")

// Ungrouped names the constraints that no top-level group claims.
const Ungrouped = "(ungrouped)"

// Count is the number of constraints one group added.
type Count struct {
	Name        string `json:"name"`        // nested groups are "outer/inner"
	Constraints int    `json:"constraints"` // a parent's count includes its children's
	Calls       int    `json:"calls"`       // how many times the group ran
	TopLevel    bool   `json:"top_level"`   // top-level groups and Ungrouped sum to the total
}

type recording struct {
	counts map[string]*Count
	order  []string
	stack  []string
}

var (
	// one recorded compilation at a time: the profiler is process-wide.
	recordMu sync.Mutex
	mu       sync.Mutex
	active   = map[frontend.Compiler]*recording{}
)

// Begin opens the group name around the constraints that api adds until the
// returned function is called. Call it as `defer groups.Begin(api, "x")()`
// or pair it by hand. Outside a [Record]ed compilation it does nothing.
func Begin(api frontend.API, name string) (end func()) {
	mu.Lock()
	r := active[api.Compiler()]
	mu.Unlock()
	if r == nil {
		return func() {}
	}
	full := strings.Join(append(r.stack[:len(r.stack):len(r.stack)], name), "/")
	c := r.counts[full]
	if c == nil {
		c = &Count{Name: full, TopLevel: len(r.stack) == 0}
		r.counts[full] = c
		r.order = append(r.order, full)
	}
	r.stack = append(r.stack, name)
	p := profile.Start(profile.WithNoOutput(), profile.WithoutOperations())
	return func() {
		p.Stop()
		r.stack = r.stack[:len(r.stack)-1]
		c.Constraints += p.NbConstraints()
		c.Calls++
	}
}

// Group runs fn inside the group name ([Begin]).
func Group(api frontend.API, name string, fn func()) {
	end := Begin(api, name)
	defer end()
	fn()
}

// Record compiles circuit with newBuilder (r1cs.NewBuilder or
// scs.NewBuilder) and returns the constraint system with the constraints of
// each group, in the order the groups first ran, then [Ungrouped]. The
// compiled system is the one frontend.Compile returns for the same circuit.
func Record(field *big.Int, newBuilder frontend.NewBuilder, circuit frontend.Circuit, opts ...frontend.CompileOption) (constraint.ConstraintSystem, []Count, error) {
	recordMu.Lock()
	defer recordMu.Unlock()
	r := &recording{counts: map[string]*Count{}}
	var key frontend.Compiler
	wrapped := func(f *big.Int, cfg frontend.CompileConfig) (frontend.Builder[constraint.U64], error) {
		b, err := newBuilder(f, cfg)
		if err != nil {
			return nil, err
		}
		key = b.Compiler()
		mu.Lock()
		active[key] = r
		mu.Unlock()
		return b, nil
	}
	defer func() {
		mu.Lock()
		delete(active, key)
		mu.Unlock()
	}()
	whole := profile.Start(profile.WithNoOutput(), profile.WithoutOperations())
	ccs, err := frontend.Compile(field, wrapped, circuit, opts...)
	whole.Stop()
	if err != nil {
		return nil, nil, err
	}
	total := ccs.GetNbConstraints()
	if whole.NbConstraints() > total {
		return nil, nil, fmt.Errorf("%w (%d seen, %d compiled)", ErrConcurrentCompile, whole.NbConstraints(), total)
	}
	out := make([]Count, 0, len(r.order)+1)
	rest := total
	for _, name := range r.order {
		c := *r.counts[name]
		if c.TopLevel {
			rest -= c.Constraints
		}
		out = append(out, c)
	}
	out = append(out, Count{Name: Ungrouped, Constraints: rest, TopLevel: true})
	return ccs, out, nil
}
