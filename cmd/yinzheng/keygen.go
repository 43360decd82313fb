package main

import (
	"errors"
	"io"
)

// runKeygen is a placeholder until its issue lands.
func runKeygen(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
