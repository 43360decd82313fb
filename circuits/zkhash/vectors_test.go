package zkhash

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	poseidon2bn254 "github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"

	"github.com/yinzheng-id/yinzheng/internal/golden"
)

// vectorsFile holds known answers for every construction, so that another
// implementation (a phone wallet, a verifier in another language) can check
// itself bit for bit. A change of construction must be deliberate (new tags
// or version); regenerate then with YINZHENG_UPDATE_TESTDATA=1 (package
// internal/golden).
const vectorsFile = "testdata/hash-vectors.json"

type permutationVector struct {
	Width   int      `json:"width"`
	Full    int      `json:"full_rounds"`
	Partial int      `json:"partial_rounds"`
	In      []string `json:"in"`
	Out     []string `json:"out"`
}

type pathVector struct {
	Depth    int      `json:"depth"`
	Leaf     string   `json:"leaf"`
	Index    uint64   `json:"index"`
	Siblings []string `json:"siblings"`
	Root     string   `json:"root"`
}

type hashVectors struct {
	Description      string              `json:"description"`
	Tags             map[string]string   `json:"tags"`
	Permutations     []permutationVector `json:"permutations"`
	Secret           string              `json:"secret"`
	HolderCommitment string              `json:"holder_commitment"`
	Scope            string              `json:"scope"`
	Pseudonym        string              `json:"pseudonym"`
	Attributes       string              `json:"attributes"`
	Identity         string              `json:"identity"`
	Leaf             string              `json:"leaf"`
	NodeLevel        int                 `json:"node_level"`
	NodeChildren     []string            `json:"node_children"`
	Node             string              `json:"node"`
	EmptyRoots       []string            `json:"empty_roots"`
	Path             pathVector          `json:"path"`
}

func formatAll(es []fr.Element) []string {
	out := make([]string, len(es))
	for i := range es {
		out[i] = FormatElement(es[i])
	}
	return out
}

// computeVectors derives every input from small integers and tags, so the
// file documents its own inputs.
func computeVectors() hashVectors {
	v := hashVectors{
		Description: "Yinzheng zkhash known answers (BN254 scalar field, Poseidon2, see circuits/zkhash/doc.go). " +
			"Elements are 0x and 64 hex digits, big-endian. Tags are SM3(\"yinzheng:v1:\" || name) mod r.",
		Tags: map[string]string{},
	}
	for _, name := range []string{tagHolder, tagPseudonym, tagLeafPfx + "wangzheng/v1", tagNodePfx + "1", tagNodePfx + "16"} {
		v.Tags[name] = FormatElement(Tag(name))
	}
	for _, w := range []struct{ width, full, partial int }{
		{2, fullRounds2, partialRounds2}, {3, fullRounds3, partialRounds3}, {4, fullRounds4, partialRounds4},
	} {
		state := make([]fr.Element, w.width)
		for i := range state {
			state[i].SetUint64(uint64(i))
		}
		in := formatAll(state)
		if err := poseidon2bn254.NewPermutation(w.width, w.full, w.partial).Permutation(state); err != nil {
			panic(err)
		}
		v.Permutations = append(v.Permutations, permutationVector{w.width, w.full, w.partial, in, formatAll(state)})
	}
	secret, scope, attributes, identity := element(1001), element(2002), element(3003), element(4004)
	hc := HolderCommitment(secret)
	leaf := Leaf(LeafTag("wangzheng/v1"), attributes, hc, identity)
	v.Secret, v.Scope = FormatElement(secret), FormatElement(scope)
	v.HolderCommitment = FormatElement(hc)
	v.Pseudonym = FormatElement(Pseudonym(secret, scope))
	v.Attributes, v.Identity, v.Leaf = FormatElement(attributes), FormatElement(identity), FormatElement(leaf)

	children := [Arity]fr.Element{element(1), element(2), element(3), element(4)}
	v.NodeLevel, v.NodeChildren = 5, formatAll(children[:])
	v.Node = FormatElement(Node(5, children))
	v.EmptyRoots = formatAll(EmptyRoots(16))

	const depth = 32
	siblings := make([]fr.Element, depth/LevelBits*SiblingsPerLevel)
	for i := range siblings {
		siblings[i] = Tag("test sibling " + strconv.Itoa(i))
	}
	index := uint64(0x9e3779b9) // every level sees a different position
	root, err := RootFromPath(leaf, index, siblings)
	if err != nil {
		panic(err)
	}
	v.Path = pathVector{Depth: depth, Leaf: v.Leaf, Index: index, Siblings: formatAll(siblings), Root: FormatElement(root)}
	return v
}

func TestKnownAnswers(t *testing.T) {
	got, err := json.MarshalIndent(computeVectors(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	want := golden.Check(t, vectorsFile, got)
	// The file's path must fold with the file's own data, read back.
	var v hashVectors
	if err := json.Unmarshal(want, &v); err != nil {
		t.Fatal(err)
	}
	leaf, err := ParseElement(v.Path.Leaf)
	if err != nil {
		t.Fatal(err)
	}
	siblings := make([]fr.Element, len(v.Path.Siblings))
	for i, s := range v.Path.Siblings {
		if siblings[i], err = ParseElement(s); err != nil {
			t.Fatal(err)
		}
	}
	root, err := RootFromPath(leaf, v.Path.Index, siblings)
	if err != nil || FormatElement(root) != v.Path.Root {
		t.Fatalf("the file's path does not fold to its root: %v", err)
	}
}
