package holder

import (
	"context"
	"errors"
	"fmt"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// limitSmall bounds issuer.json, root statements and the circuit manifest.
const limitSmall = publication.MaxMetadataSize

// ErrIssuerKeyChanged reports an issuer whose published key is not the one
// the wallet pinned when it imported the issuer's first credential.
var ErrIssuerKeyChanged = errors.New("holder: the issuer's published key is not the key this wallet pinned at import")

// issuerInfo is the issuer's checked metadata (issuer.json).
type issuerInfo struct {
	meta *publication.Metadata
	key  *jose.PublicKey
}

// fetchIssuer reads issuer.json from src and checks it strictly
// (publication.ParseMetadata: known members only, kid is the key's id, the
// suite is the key's) and against what this wallet holds.
func fetchIssuer(ctx context.Context, src publication.Source) (*issuerInfo, error) {
	if src == nil {
		return nil, errors.New("holder: no issuer source (give --issuer-dir or --issuer-url)")
	}
	data, err := src.Get(ctx, publication.IssuerName, limitSmall)
	if err != nil {
		return nil, fmt.Errorf("holder: fetch the issuer metadata: %w", err)
	}
	m, err := publication.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("holder: issuer metadata: %w", err)
	}
	switch {
	case m.Depth > revocation.MaxDepth:
		return nil, fmt.Errorf("holder: issuer metadata: depth %d outside 2…%d", m.Depth, revocation.MaxDepth)
	case m.VCT != schemas.VCT:
		return nil, fmt.Errorf("holder: issuer metadata: vct %q, this wallet holds %q", m.VCT, schemas.VCT)
	}
	return &issuerInfo{meta: m, key: m.JWK}, nil
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
