package main

import (
	"fmt"
	"io"

	qrcode "github.com/skip2/go-qrcode"
)

// writeQR draws s as a QR code in half-block characters (two modules a
// character row), for a wallet on another device to scan.
func writeQR(w io.Writer, s string) error {
	q, err := qrcode.New(s, qrcode.Low)
	if err != nil {
		return fmt.Errorf("QR code: %w", err)
	}
	_, err = io.WriteString(w, q.ToSmallString(false))
	return err
}
