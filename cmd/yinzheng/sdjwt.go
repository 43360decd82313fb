package main

import (
	"errors"
	"io"
)

// runSDJWT is a placeholder until its issue lands.
func runSDJWT(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
