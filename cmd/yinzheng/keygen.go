package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/yinzheng-id/yinzheng/jose"
)

// runKeygen implements
//
//	yinzheng keygen [--suite gm|intl]   print a new private JWK (default gm)
//	yinzheng keygen --public            read a private JWK on stdin, print its public JWK
//
// Output is one JSON object and a newline.
func runKeygen(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("keygen", stderr)
	suite := fs.String("suite", string(jose.SuiteGM), "suite of the new key: gm (SM2) or intl (ES256, P-256)")
	public := fs.Bool("public", false, "read a private JWK on stdin and print its public JWK")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var out any
	if *public {
		suiteSet := false
		fs.Visit(func(f *flag.Flag) { suiteSet = suiteSet || f.Name == "suite" })
		if suiteSet {
			return usageError("--suite and --public cannot be combined (the suite follows from the key)")
		}
		data, err := readInput("-", stdin)
		if err != nil {
			return fmt.Errorf("reading stdin: %w", err)
		}
		key, err := jose.ParsePrivateJWK(data)
		if err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
		out = key.Public()
	} else {
		s := jose.Suite(*suite)
		if s != jose.SuiteGM && s != jose.SuiteIntl {
			return usageError("--suite %q: want gm or intl", *suite)
		}
		key, err := jose.GenerateKey(s, nil)
		if err != nil {
			return err
		}
		out = key
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}
