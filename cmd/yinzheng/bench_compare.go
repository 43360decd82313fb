package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/yinzheng-id/yinzheng/bench"
)

// errRegressed makes `yinzheng bench compare` exit 1: a figure got worse
// beyond its noise band.
var errRegressed = errors.New("bench compare: a figure regressed beyond its noise band")

// runBenchCompare implements `yinzheng bench compare A.json B.json`: the
// ratio B/A of every shared figure with its noise band.
func runBenchCompare(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench compare", stderr)
	all := fs.Bool("all", false, "list every shared figure, not only those outside their band")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%v", err)
	}
	if fs.NArg() != 2 {
		return usageError("usage: yinzheng bench compare [--all] A.json B.json")
	}
	a, err := bench.ReadResults(fs.Arg(0))
	if err != nil {
		return err
	}
	b, err := bench.ReadResults(fs.Arg(1))
	if err != nil {
		return err
	}
	cmp, onlyA, onlyB := bench.Compare(a, b)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tunit\tA\tB\tB/A\tband\tverdict")
	regressed := 0
	for _, c := range cmp {
		verdict := "same"
		switch {
		case c.Regressed:
			verdict, regressed = "REGRESSED", regressed+1
		case c.Improved:
			verdict = "improved"
		}
		if !*all && verdict == "same" {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.4g\t%.3f\t±%.1f%%\t%s\n", c.Key, c.Unit, c.A, c.B, c.Ratio, 100*c.Band, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d shared figures, %d regressed; %d only in A, %d only in B\n", len(cmp), regressed, len(onlyA), len(onlyB))
	if regressed > 0 {
		return errRegressed
	}
	return nil
}
