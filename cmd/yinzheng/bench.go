package main

import (
	"errors"
	"io"
)

// runBench is a placeholder until its issue lands.
func runBench(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
