package main

import (
	"errors"
	"io"
)

// runCircuits is a placeholder until its issue lands.
func runCircuits(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
