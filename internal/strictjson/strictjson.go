// Package strictjson decodes the JSON documents Yinzheng exchanges the one
// strict way: a size limit checked before parsing, exactly one value, no
// unknown object member, nothing after the value. Every parser of a wire
// document (bundles, requests, presentations, subjects, manifests, issuer
// metadata, root statements, HTTP bodies) goes through it, so a document
// accepted by one role is accepted by all.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrTrailingData reports bytes other than white space after the value.
var ErrTrailingData = errors.New("data after the first value")

// ErrTooLarge reports a document over the caller's limit.
var ErrTooLarge = errors.New("document too large")

// Unmarshal decodes data, of at most limit bytes (no limit if limit <= 0),
// into v, refusing unknown object members and anything after the value.
func Unmarshal(data []byte, limit int, v any) error {
	if limit > 0 && len(data) > limit {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(data), limit)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrTrailingData
	}
	return nil
}
