package holder

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/wire"
)

// FormatVersion is the "version" of every JSON document the wallet reads
// and writes (holder requests, bundles, verifier requests, presentations).
const FormatVersion = 1

// MaxDocumentBytes bounds every JSON document the wallet reads.
const MaxDocumentBytes = 1 << 20

// SDJWTCopies is the number of single-use SD-JWT copies a holder request asks
// for: one holder key, hence one copy, per SD-JWT presentation.
const SDJWTCopies = 8

// ErrFormat reports a JSON document that is not of the expected shape:
// not JSON, too large, an unknown or missing member, the wrong version.
var ErrFormat = errors.New("holder: malformed document")

// The documents the wallet reads and writes (package wire has them field by field).
type (
	HolderRequest = wire.HolderRequest
	Bundle        = wire.Bundle
	BundleZK      = wire.BundleZK
	BundlePath    = wire.BundlePath
	Request       = wire.Request
	Predicates    = wire.Predicates
	SDJWTRequest  = wire.SDJWTRequest
	Presentation  = wire.Presentation
)

// Presentation types.
const (
	PresentationZK    = wire.TypeZK
	PresentationSDJWT = wire.TypeSDJWT
)

// ParseBundle reads a bundle strictly: at most MaxDocumentBytes, one JSON
// object, no unknown member, version 1.
func ParseBundle(data []byte) (*Bundle, error) {
	var b Bundle
	if err := decodeStrict(data, "bundle", &b); err != nil {
		return nil, err
	}
	if b.Version != FormatVersion {
		return nil, fmt.Errorf("%w: bundle version %d, this wallet reads %d", ErrFormat, b.Version, FormatVersion)
	}
	return &b, nil
}

// ParseRequest reads a verifier request strictly: at most MaxDocumentBytes,
// one JSON object, no unknown member, version 1.
func ParseRequest(data []byte) (*Request, error) {
	var r Request
	if err := decodeStrict(data, "request", &r); err != nil {
		return nil, err
	}
	if r.Version != FormatVersion {
		return nil, fmt.Errorf("%w: request version %d, this wallet reads %d", ErrFormat, r.Version, FormatVersion)
	}
	return &r, nil
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// members, trailing data and documents over MaxDocumentBytes.
func decodeStrict(data []byte, what string, v any) error {
	if err := strictjson.Unmarshal(data, MaxDocumentBytes, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrFormat, what, err)
	}
	return nil
}

// CircuitCacheDir is where a wallet in walletDir caches circuit artifacts:
// under it, one directory per circuit id with the issuer's keys (and the
// proving key's uncompressed copy, circuits.RawProvingKeyFile), and the
// compiled circuits (circuits.CompiledCacheFile). Everything there is
// public and checked against the issuer's manifest when loaded, so a front
// end may seed it with copies from any source (the browser wallet takes
// them from its own origin, to skip decompressing and compiling).
func CircuitCacheDir(walletDir string) string { return filepath.Join(walletDir, circuitCache) }
