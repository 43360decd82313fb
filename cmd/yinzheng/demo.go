package main

import (
	"errors"
	"io"
)

// runDemo is a placeholder until its issue lands.
func runDemo(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
