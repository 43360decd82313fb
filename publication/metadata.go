package publication

import (
	"errors"
	"fmt"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/jose"
)

// maxDepth mirrors revocation.MaxDepth without importing the store.
const maxDepth = 48

// Metadata is issuer.json: who the issuer is and what it publishes. Writers
// fill it and marshal it with encoding/json; readers use ParseMetadata.
type Metadata struct {
	// Version is 1; zero (absent) is read as 1.
	Version       int             `json:"version,omitempty"`
	Issuer        string          `json:"issuer"`
	Suite         jose.Suite      `json:"suite"`
	JWK           *jose.PublicKey `json:"jwk"`
	KeyID         string          `json:"kid"`
	Depth         int             `json:"depth"`
	CircuitID     string          `json:"circuit_id"`
	SchemaID      string          `json:"schema_id"`
	VCT           string          `json:"vct"`
	StatusListURI string          `json:"status_list_uri"`
}

// ParseMetadata parses issuer.json strictly (unknown or repeated fields,
// trailing data and missing members are refused) and checks that it is
// coherent: the key is a public key of the stated suite and kid is its key id.
func ParseMetadata(data []byte) (*Metadata, error) {
	var m Metadata
	if err := strictjson.Unmarshal(data, MaxMetadataSize, &m); err != nil {
		return nil, fmt.Errorf("publication: issuer.json: %w", err)
	}
	switch {
	case m.Version != 0 && m.Version != 1:
		return nil, fmt.Errorf("publication: issuer.json: version %d, want 1", m.Version)
	case m.Issuer == "":
		return nil, errors.New("publication: issuer.json: issuer is missing")
	case m.JWK == nil:
		return nil, errors.New("publication: issuer.json: jwk is missing")
	case m.Suite != m.JWK.Suite():
		return nil, fmt.Errorf("publication: issuer.json: suite %q but a %q key", m.Suite, m.JWK.Suite())
	case m.KeyID != m.JWK.KeyID():
		return nil, fmt.Errorf("publication: issuer.json: kid %q is not the key's id %q", m.KeyID, m.JWK.KeyID())
	case m.Depth > maxDepth || !evenDepth(m.Depth):
		return nil, fmt.Errorf("publication: issuer.json: depth %d is not an even number in 2…%d (the tree is 4-ary)", m.Depth, maxDepth)
	case m.CircuitID == "":
		return nil, errors.New("publication: issuer.json: circuit_id is missing")
	case m.SchemaID == "":
		return nil, errors.New("publication: issuer.json: schema_id is missing")
	case m.VCT == "":
		return nil, errors.New("publication: issuer.json: vct is missing")
	case m.StatusListURI == "":
		return nil, errors.New("publication: issuer.json: status_list_uri is missing")
	}
	return &m, nil
}

// evenDepth reports whether depth is a 4-ary tree's (zkhash.Levels).
func evenDepth(depth int) bool {
	_, err := zkhash.Levels(depth)
	return err == nil
}
