package verifier

import "fmt"

// Presentation types.
const (
	TypeZK    = "zk"
	TypeSDJWT = "sd-jwt"
)

// Presentation answers a request: a zero-knowledge proof (Type "zk") or an
// SD-JWT with a Key Binding JWT (Type "sd-jwt").
type Presentation struct {
	Version   int     `json:"version"`
	Type      string  `json:"type"`
	RequestID string  `json:"request_id"`
	CircuitID string  `json:"circuit_id,omitempty"`
	Epoch     *uint64 `json:"epoch,omitempty"`
	Pseudonym string  `json:"pseudonym,omitempty"`
	Proof     string  `json:"proof,omitempty"`
	SDJWT     string  `json:"sd_jwt,omitempty"`
}

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
