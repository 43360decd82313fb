package bench

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSuiteTiny runs the suite at tiny settings (depths 2 and 4, two
// runs, one accumulator size) and checks every output it writes: the JSON
// reads back, the CSV has a row per figure, the plots decode, and the report
// quotes figures computed from the results, not fixed text.
func TestSuiteTiny(t *testing.T) {
	var progress bytes.Buffer
	extra := Sweep{Name: "test sweep", Run: func(bool, func(string)) ([]Figure, error) {
		return []Figure{{Key: "test/extra_ms", Unit: "ms", Stats: NewStats([]float64{1, 2, 3})}}, nil
	}}
	res, err := Suite(SuiteOptions{
		Quick: true, Depths: []int{2, 4}, Plonk: []int{4}, Runs: 2, Procs: []int{1, 2}, Leaves: []int{10_000, 20_000},
		Sweeps:   []Sweep{extra},
		Progress: func(s string) { progress.WriteString(s + "\n") },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "depth 4") || !strings.Contains(progress.String(), "test sweep") {
		t.Fatalf("progress: %s", progress.String())
	}
	dir := t.TempDir()
	if err := res.WriteAll(dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResults(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Circuits) != len(res.Circuits) || len(back.Circuits) < 4 || len(back.Accumulator) != 2 || len(back.Signatures) != 8 || len(back.Extra) != 1 {
		t.Fatalf("results read back: %d circuits, %d accumulator, %d signatures, %d extra", len(back.Circuits), len(back.Accumulator), len(back.Signatures), len(back.Extra))
	}
	e := back.Environment
	if e.Cores < 1 || e.GoVersion == "" || e.Gnark == "" || e.GnarkCrypto == "" || len(e.LoadAvgStart) != 3 || len(e.LoadAvgEnd) != 3 {
		t.Fatalf("environment %+v", e)
	}
	f, err := os.Open(filepath.Join(dir, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(res.Figures())+1 {
		t.Fatalf("%d CSV rows for %d figures", len(rows), len(res.Figures()))
	}
	for _, name := range []string{PlotProve, PlotGroups, PlotSplit, PlotScaling, PlotAccumulator} {
		f, err := os.Open(filepath.Join(dir, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 100 {
			t.Fatalf("%s.png: %v", name, err)
		}
		if st, err := os.Stat(filepath.Join(dir, name+".svg")); err != nil || st.Size() == 0 {
			t.Fatalf("%s.svg: %v", name, err)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	d4 := res.runs(BackendGroth16)[1]
	for _, want := range []string{"![Prove time against constraints](prove_vs_constraints.png)", e.Commit, "test/extra_ms",
		"(" + strconv.Itoa(d4.Report.Constraints) + " constraints)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}
