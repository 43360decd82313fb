package main

import (
	"errors"
	"io"
)

// runRevocation is a placeholder until its issue lands.
func runRevocation(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
