package verifier

import (
	"fmt"

	"github.com/yinzheng-id/yinzheng/wire"
)

// Presentation types.
const (
	TypeZK    = wire.TypeZK
	TypeSDJWT = wire.TypeSDJWT
)

// Presentation answers a request (package wire has it field by
// field).
type Presentation = wire.Presentation

// ParsePresentation reads a presentation document strictly: at most
// MaxDocumentSize bytes, one JSON object, no unknown member, version 1, a
// known type with exactly the members of that type.
func ParsePresentation(data []byte) (*Presentation, error) {
	var p Presentation
	if err := decodeStrict(data, "presentation", &p); err != nil {
		return nil, err
	}
	if p.Version != FormatVersion {
		return nil, fmt.Errorf("%w: presentation version %d, want %d", ErrFormat, p.Version, FormatVersion)
	}
	if p.RequestID == "" {
		return nil, fmt.Errorf("%w: presentation has no request_id", ErrFormat)
	}
	switch p.Type {
	case TypeZK:
		if p.CircuitID == "" || p.Epoch == nil || p.Pseudonym == "" || p.Proof == "" {
			return nil, fmt.Errorf("%w: a zk presentation needs circuit_id, epoch, pseudonym and proof", ErrFormat)
		}
		if p.SDJWT != "" {
			return nil, fmt.Errorf("%w: a zk presentation carries no sd_jwt", ErrFormat)
		}
	case TypeSDJWT:
		if p.SDJWT == "" {
			return nil, fmt.Errorf("%w: an sd-jwt presentation needs sd_jwt", ErrFormat)
		}
		if p.CircuitID != "" || p.Epoch != nil || p.Pseudonym != "" || p.Proof != "" {
			return nil, fmt.Errorf("%w: an sd-jwt presentation carries no zk members", ErrFormat)
		}
	default:
		return nil, fmt.Errorf("%w: presentation type %q, want %q or %q", ErrFormat, p.Type, TypeZK, TypeSDJWT)
	}
	return &p, nil
}
