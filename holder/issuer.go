package holder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/yinzheng-id/yinzheng/internal/publication"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// limitSmall bounds issuer.json, root statements and the circuit manifest.
const limitSmall = publication.MaxMetadataSize

// ErrIssuerKeyChanged reports an issuer whose published key is not the one
// the wallet pinned when it imported the issuer's first credential.
var ErrIssuerKeyChanged = errors.New("holder: the issuer's published key is not the key this wallet pinned at import")

// IssuerMetadata is the issuer's public issuer.json. Members this wallet does
// not use are ignored, so an issuer can publish more (a privacy notice, say)
// without breaking wallets.
type IssuerMetadata struct {
	Issuer        string          `json:"issuer"`
	Suite         string          `json:"suite"`
	JWK           json.RawMessage `json:"jwk"`
	KID           string          `json:"kid"`
	Depth         int             `json:"depth"`
	CircuitID     string          `json:"circuit_id"`
	SchemaID      string          `json:"schema_id"`
	VCT           string          `json:"vct"`
	StatusListURI string          `json:"status_list_uri"`
}

// issuerInfo is checked metadata with its parsed key.
type issuerInfo struct {
	meta IssuerMetadata
	key  *jose.PublicKey
}

// fetchIssuer reads and checks issuer.json from src.
func fetchIssuer(ctx context.Context, src publication.Source) (*issuerInfo, error) {
	if src == nil {
		return nil, errors.New("holder: no issuer source (give --issuer-dir or --issuer-url)")
	}
	data, err := src.Get(ctx, publication.IssuerName, limitSmall)
	if err != nil {
		return nil, fmt.Errorf("holder: fetch the issuer metadata: %w", err)
	}
	var m IssuerMetadata
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("holder: issuer metadata: %w", err)
	}
	key, err := jose.ParsePublicJWK(m.JWK)
	if err != nil {
		return nil, fmt.Errorf("holder: issuer metadata: jwk: %w", err)
	}
	switch {
	case m.Issuer == "":
		return nil, errors.New("holder: issuer metadata has no issuer")
	case m.KID != "" && m.KID != key.KeyID():
		return nil, fmt.Errorf("holder: issuer metadata: kid %q is not the key id of its jwk (%s)", m.KID, key.KeyID())
	case m.Depth < 1 || m.Depth > revocation.MaxDepth:
		return nil, fmt.Errorf("holder: issuer metadata: depth %d outside 1…%d", m.Depth, revocation.MaxDepth)
	case m.VCT != "" && m.VCT != schemas.VCT:
		return nil, fmt.Errorf("holder: issuer metadata: vct %q, this wallet holds %q", m.VCT, schemas.VCT)
	}
	return &issuerInfo{meta: m, key: key}, nil
}

// pinned returns the pinned record of issuer, or nil. The caller holds w.mu.
func (w *Wallet) pinned(issuer string) *pinnedIssuer {
	for _, p := range w.st.Issuers {
		if p.Issuer == issuer {
			return p
		}
	}
	return nil
}

// checkPinned refuses metadata whose key differs from the pinned one. The
// caller holds w.mu.
func (w *Wallet) checkPinned(info *issuerInfo) error {
	p := w.pinned(info.meta.Issuer)
	if p == nil {
		return nil
	}
	key, err := jose.ParsePublicJWK(p.JWK)
	if err != nil {
		return fmt.Errorf("holder: the pinned key of %s is unreadable: %w", p.Issuer, err)
	}
	if !key.Equal(info.key) {
		return fmt.Errorf("%w (%s: pinned %s, published %s)", ErrIssuerKeyChanged, p.Issuer, key.KeyID(), info.key.KeyID())
	}
	if p.Depth != info.meta.Depth {
		return fmt.Errorf("holder: %s now publishes a tree of depth %d, the wallet pinned %d", p.Issuer, info.meta.Depth, p.Depth)
	}
	return nil
}

// issuerFor fetches the metadata of issuer from src and checks it against
// the pinned record. The caller holds w.mu.
func (w *Wallet) issuerFor(ctx context.Context, src publication.Source, issuer string) (*issuerInfo, error) {
	info, err := fetchIssuer(ctx, src)
	if err != nil {
		return nil, err
	}
	if info.meta.Issuer != issuer {
		return nil, fmt.Errorf("holder: the source publishes issuer %q, not %q", info.meta.Issuer, issuer)
	}
	if err := w.checkPinned(info); err != nil {
		return nil, err
	}
	return info, nil
}

// verifyStatement verifies a root statement under the issuer's key and that
// it names the issuer.
func verifyStatement(info *issuerInfo, compact string) (*revocation.RootStatement, error) {
	rs, err := revocation.VerifyRootStatement(compact, info.key)
	if err != nil {
		return nil, err
	}
	if rs.Issuer != info.meta.Issuer {
		return nil, fmt.Errorf("holder: root statement of issuer %q, expected %q", rs.Issuer, info.meta.Issuer)
	}
	return rs, nil
}
