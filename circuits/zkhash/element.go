package zkhash

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// FormatElement writes a field element the way every Yinzheng JSON document
// does: "0x" and 64 lowercase hex digits, big-endian.
func FormatElement(e fr.Element) string {
	b := e.Bytes()
	return "0x" + hex.EncodeToString(b[:])
}

// ParseElement reads the form FormatElement writes. It accepts only that
// form, and only canonical values (below the field modulus), so that every
// element has exactly one spelling.
func ParseElement(s string) (fr.Element, error) {
	var e fr.Element
	if !strings.HasPrefix(s, "0x") || len(s) != 2+2*fr.Bytes {
		return e, fmt.Errorf("field element must be 0x and %d hex digits, got %d characters", 2*fr.Bytes, len(s))
	}
	if strings.ToLower(s) != s {
		return e, errors.New("field element must be lowercase hex")
	}
	b, err := hex.DecodeString(s[2:])
	if err != nil {
		return e, fmt.Errorf("field element is not hex: %w", err)
	}
	if err := e.SetBytesCanonical(b); err != nil {
		return e, errors.New("field element is not below the BN254 scalar field modulus")
	}
	return e, nil
}
