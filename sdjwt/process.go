package sdjwt

import (
	"fmt"
	"hash"
)

// A node is one value of the processed payload, remembering which
// disclosure (if any) revealed it, so that a holder can pick the disclosures
// behind a claim path.
type node struct {
	obj    map[string]*node // set for objects
	arr    []*node          // set for arrays (isArr distinguishes an empty one)
	isArr  bool
	scalar any
	disc   int // index of the disclosure that revealed this value; -1 if in the clear
}

// processor resolves the digests of an issuer-signed payload against a set
// of disclosures (RFC 9901 Section 7.1, steps 3 to 5).
type processor struct {
	disclosures []*Disclosure
	byDigest    map[string]int
	used        []bool
	seen        map[string]bool
}

// process applies the disclosures to payload and enforces the rejection
// rules: duplicate digests, disclosure kind, claim-name collisions,
// malformed "_sd" arrays and unreferenced disclosures. It returns the
// processed tree without "_sd", "_sd_alg" and "..." entries.
func process(payload map[string]any, disclosures []*Disclosure, newHash func() hash.Hash) (*node, error) {
	p := &processor{
		disclosures: disclosures,
		byDigest:    make(map[string]int, len(disclosures)),
		used:        make([]bool, len(disclosures)),
		seen:        make(map[string]bool),
	}
	for i, d := range disclosures {
		dg := digest(newHash, d.Encoded)
		if _, dup := p.byDigest[dg]; dup {
			return nil, fmt.Errorf("%w: the same disclosure is presented twice", ErrDuplicateDigest)
		}
		p.byDigest[dg] = i
	}
	top := make(map[string]any, len(payload))
	for k, v := range payload {
		if k != "_sd_alg" {
			top[k] = v
		}
	}
	root, err := p.walk(top, -1)
	if err != nil {
		return nil, err
	}
	for i, u := range p.used {
		if !u {
			return nil, fmt.Errorf("%w: disclosure %d (%s)", ErrUnreferencedDisclosure, i, disclosures[i].describe())
		}
	}
	return root, nil
}

// describe names a disclosure in an error message without its value or salt.
func (d *Disclosure) describe() string {
	if d.IsProperty {
		return fmt.Sprintf("claim %q", d.Name)
	}
	return "an array element"
}

// see records one digest occurrence and returns the index of the disclosure
// it references, or -1 for a decoy or an undisclosed claim.
func (p *processor) see(dg string) (int, error) {
	if p.seen[dg] {
		return -1, fmt.Errorf("%w: %s", ErrDuplicateDigest, dg)
	}
	p.seen[dg] = true
	i, ok := p.byDigest[dg]
	if !ok {
		return -1, nil
	}
	p.used[i] = true
	return i, nil
}

func (p *processor) walk(v any, disc int) (*node, error) {
	switch v := v.(type) {
	case map[string]any:
		n := &node{obj: make(map[string]*node, len(v)), disc: disc}
		for k, val := range v {
			if k == "_sd" {
				continue
			}
			child, err := p.walk(val, -1)
			if err != nil {
				return nil, err
			}
			n.obj[k] = child
		}
		sd, ok := v["_sd"]
		if !ok {
			return n, nil
		}
		digests, ok := sd.([]any)
		if !ok {
			return nil, fmt.Errorf("%w: _sd is not an array", ErrMalformedPayload)
		}
		for _, item := range digests {
			dg, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("%w: _sd holds a %T, not a digest string", ErrMalformedPayload, item)
			}
			i, err := p.see(dg)
			if err != nil || i < 0 {
				if err != nil {
					return nil, err
				}
				continue
			}
			d := p.disclosures[i]
			if !d.IsProperty {
				return nil, fmt.Errorf("%w: array-element disclosure referenced from _sd", ErrDisclosureKind)
			}
			if _, exists := n.obj[d.Name]; exists {
				return nil, fmt.Errorf("%w: %q", ErrClaimExists, d.Name)
			}
			child, err := p.walk(d.Value, i)
			if err != nil {
				return nil, err
			}
			n.obj[d.Name] = child
		}
		return n, nil
	case []any:
		n := &node{arr: make([]*node, 0, len(v)), isArr: true, disc: disc}
		for _, elem := range v {
			if dg, ok := arrayDigest(elem); ok {
				s, ok := dg.(string)
				if !ok {
					return nil, fmt.Errorf("%w: array element digest is a %T, not a string", ErrMalformedPayload, dg)
				}
				i, err := p.see(s)
				if err != nil {
					return nil, err
				}
				if i < 0 {
					continue // decoy or undisclosed: the element is removed
				}
				d := p.disclosures[i]
				if d.IsProperty {
					return nil, fmt.Errorf("%w: property disclosure %q referenced from an array", ErrDisclosureKind, d.Name)
				}
				child, err := p.walk(d.Value, i)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, child)
				continue
			}
			child, err := p.walk(elem, -1)
			if err != nil {
				return nil, err
			}
			n.arr = append(n.arr, child)
		}
		return n, nil
	default:
		return &node{scalar: v, disc: disc}, nil
	}
}

// arrayDigest reports whether an array element is a digest placeholder
// {"...": digest} (an object with that single key) and returns the digest.
func arrayDigest(elem any) (any, bool) {
	m, ok := elem.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, false
	}
	dg, ok := m["..."]
	return dg, ok
}

// value converts the processed tree to plain JSON values.
func (n *node) value() any {
	switch {
	case n.obj != nil:
		m := make(map[string]any, len(n.obj))
		for k, c := range n.obj {
			m[k] = c.value()
		}
		return m
	case n.isArr:
		a := make([]any, len(n.arr))
		for i, c := range n.arr {
			a[i] = c.value()
		}
		return a
	default:
		return n.scalar
	}
}

// collect adds the index of every disclosure in the subtree at n to set.
func (n *node) collect(set map[int]bool) {
	if n.disc >= 0 {
		set[n.disc] = true
	}
	for _, c := range n.obj {
		c.collect(set)
	}
	for _, c := range n.arr {
		c.collect(set)
	}
}

// selectPath adds to set the disclosures needed to reveal the claims at path
// p: those of every ancestor and every disclosure beneath the selected
// values. It fails when the path selects nothing.
func (n *node) selectPath(p ClaimPath, set map[int]bool) error {
	found, err := n.selectRest(p, set)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: %s", ErrPathNotFound, p)
	}
	return nil
}

func (n *node) selectRest(rest ClaimPath, set map[int]bool) (bool, error) {
	if len(rest) == 0 {
		n.collect(set)
		return true, nil
	}
	var children []*node
	switch c := rest[0].(type) {
	case string:
		if child, ok := n.obj[c]; ok {
			children = []*node{child}
		}
	case int:
		if n.isArr && c < len(n.arr) {
			children = []*node{n.arr[c]}
		}
	default:
		children = n.arr
	}
	found := false
	for _, child := range children {
		sub := make(map[int]bool)
		ok, err := child.selectRest(rest[1:], sub)
		if err != nil {
			return false, err
		}
		if ok {
			found = true
			for i := range sub {
				set[i] = true
			}
		}
	}
	if found && n.disc >= 0 {
		set[n.disc] = true
	}
	return found, nil
}
