package verifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// ErrUntrustedKeys means the issuer publishes circuit keys this verifier
// does not accept (development keys without AllowDevelopmentKeys, or keys
// other than Options.TrustedCircuitID).
var ErrUntrustedKeys = errors.New("verifier: untrusted circuit keys")

// ErrIssuer means the issuer's publication is inconsistent or unusable.
var ErrIssuer = errors.New("verifier: issuer publication unusable")

// issuerState is what the verifier trusts about the issuer: its metadata
// and its circuit's verifying key.
type issuerState struct {
	meta        *publication.Metadata
	keys        *circuits.Keys // verifying key only
	development bool
}

// rootError is a root statement that was fetched but fails a check; its
// reason goes into the result.
type rootError struct {
	reason string
	err    error
}

func (e *rootError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *rootError) Unwrap() error { return e.err }

type cachedRoot struct {
	kid     string
	st      *revocation.RootStatement
	fetched time.Time
}

// trustCache fetches and checks the issuer's publication and keeps what it
// verified for ttl. Its methods are safe for concurrent use; two callers
// missing the cache at once may both fetch, which is harmless.
type trustCache struct {
	src          publication.Source
	ttl          time.Duration
	now          func() time.Time
	allowDev     bool
	trustCircuit string

	mu            sync.Mutex
	issuer        *issuerState
	issuerFetched time.Time
	roots         map[uint64]cachedRoot
	latest        *cachedRoot
	status        *revocation.StatusList
	statusKid     string
	statusFetched time.Time
}

func (c *trustCache) fresh(fetched time.Time) bool {
	return !fetched.IsZero() && c.now().Sub(fetched) < c.ttl
}

// issuerState returns the issuer's metadata and verifying key.
func (c *trustCache) issuerState(ctx context.Context) (*issuerState, error) {
	c.mu.Lock()
	if c.issuer != nil && c.fresh(c.issuerFetched) {
		st := c.issuer
		c.mu.Unlock()
		return st, nil
	}
	c.mu.Unlock()
	st, err := c.loadIssuer(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.issuer == nil || c.issuer.meta.KeyID != st.meta.KeyID {
		// A new issuer key invalidates whatever the old one vouched for.
		c.roots, c.latest, c.status = nil, nil, nil
	}
	c.issuer, c.issuerFetched = st, c.now()
	c.mu.Unlock()
	return st, nil
}

func (c *trustCache) loadIssuer(ctx context.Context) (*issuerState, error) {
	data, err := c.src.Get(ctx, publication.IssuerName, publication.MaxMetadataSize)
	if err != nil {
		return nil, fmt.Errorf("verifier: issuer metadata: %w", err)
	}
	meta, err := publication.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIssuer, err)
	}
	schemaID, err := schemas.SchemaID()
	if err != nil {
		return nil, err
	}
	if meta.SchemaID != schemaID || meta.VCT != schemas.VCT {
		return nil, fmt.Errorf("%w: issuer.json names schema %s (%s), this verifier knows %s (%s)",
			ErrIssuer, meta.SchemaID, meta.VCT, schemaID, schemas.VCT)
	}
	data, err = c.src.Get(ctx, publication.ManifestName, publication.MaxMetadataSize)
	if err != nil {
		return nil, fmt.Errorf("verifier: circuit manifest: %w", err)
	}
	m, err := circuits.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%w: circuit manifest: %v", ErrIssuer, err)
	}
	switch {
	case m.CircuitID != meta.CircuitID:
		return nil, fmt.Errorf("%w: the manifest's circuit id %s is not issuer.json's %s", ErrIssuer, m.CircuitID, meta.CircuitID)
	case m.Depth != meta.Depth:
		return nil, fmt.Errorf("%w: the manifest's depth %d is not issuer.json's %d", ErrIssuer, m.Depth, meta.Depth)
	case c.trustCircuit != "" && m.CircuitID != c.trustCircuit:
		return nil, fmt.Errorf("%w: the issuer publishes circuit %s, this verifier trusts %s", ErrUntrustedKeys, m.CircuitID, c.trustCircuit)
	case m.Setup == circuits.SetupDevelopment && !c.allowDev:
		return nil, fmt.Errorf("%w: the issuer publishes development keys (their setup randomness is public) and they were not allowed", ErrUntrustedKeys)
	}
	vkBytes, err := c.src.Get(ctx, publication.VerifyingKeyName, publication.MaxVerifyingKeySize)
	if err != nil {
		return nil, fmt.Errorf("verifier: verifying key: %w", err)
	}
	keys, err := circuits.LoadVerifying(m, vkBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIssuer, err)
	}
	return &issuerState{
		meta:        meta,
		keys:        keys,
		development: m.Setup == circuits.SetupDevelopment,
	}, nil
}

// root returns the verified root statement of epoch. A statement that is
// missing or fails a check gives a *rootError.
func (c *trustCache) root(ctx context.Context, iss *issuerState, epoch uint64) (*revocation.RootStatement, error) {
	kid := iss.meta.KeyID
	c.mu.Lock()
	if r, ok := c.roots[epoch]; ok && r.kid == kid && c.fresh(r.fetched) {
		c.mu.Unlock()
		return r.st, nil
	}
	c.mu.Unlock()
	st, err := c.fetchRoot(ctx, iss, publication.RootName(epoch))
	if err != nil {
		return nil, err
	}
	if st.Epoch != epoch {
		return nil, &rootError{ReasonRootInvalid, fmt.Errorf("%s holds epoch %d", publication.RootName(epoch), st.Epoch)}
	}
	c.mu.Lock()
	if c.roots == nil {
		c.roots = make(map[uint64]cachedRoot)
	}
	c.roots[epoch] = cachedRoot{kid: kid, st: st, fetched: c.now()}
	c.mu.Unlock()
	return st, nil
}

// latestRoot returns the verified statement of the latest epoch.
func (c *trustCache) latestRoot(ctx context.Context, iss *issuerState) (*revocation.RootStatement, error) {
	kid := iss.meta.KeyID
	c.mu.Lock()
	if r := c.latest; r != nil && r.kid == kid && c.fresh(r.fetched) {
		c.mu.Unlock()
		return r.st, nil
	}
	c.mu.Unlock()
	st, err := c.fetchRoot(ctx, iss, publication.LatestRootName)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.latest = &cachedRoot{kid: kid, st: st, fetched: c.now()}
	c.mu.Unlock()
	return st, nil
}

func (c *trustCache) fetchRoot(ctx context.Context, iss *issuerState, name string) (*revocation.RootStatement, error) {
	data, err := c.src.Get(ctx, name, publication.MaxMetadataSize)
	if errors.Is(err, publication.ErrNotFound) {
		return nil, &rootError{ReasonRootUnavailable, err}
	}
	if err != nil {
		return nil, fmt.Errorf("verifier: root statement: %w", err)
	}
	st, err := revocation.VerifyRootStatement(string(bytes.TrimSpace(data)), iss.meta.JWK)
	if err != nil {
		return nil, &rootError{ReasonRootInvalid, err}
	}
	if st.Issuer != iss.meta.Issuer {
		return nil, &rootError{ReasonRootIssuer, fmt.Errorf("statement by %q, the issuer is %q", st.Issuer, iss.meta.Issuer)}
	}
	return st, nil
}

// statusList returns the issuer's verified status list.
func (c *trustCache) statusList(ctx context.Context, iss *issuerState) (*revocation.StatusList, error) {
	kid := iss.meta.KeyID
	now := c.now()
	c.mu.Lock()
	if l := c.status; l != nil && c.statusKid == kid && c.fresh(c.statusFetched) &&
		(l.TTL == 0 || now.Sub(c.statusFetched) < l.TTL) && (l.Expires.IsZero() || now.Before(l.Expires)) {
		c.mu.Unlock()
		return l, nil
	}
	c.mu.Unlock()
	data, err := c.src.Get(ctx, publication.StatusListName, publication.MaxStatusListSize)
	if err != nil {
		return nil, fmt.Errorf("verifier: status list: %w", err)
	}
	l, err := revocation.ParseStatusListToken(string(bytes.TrimSpace(data)), iss.meta.JWK, iss.meta.StatusListURI, now)
	if err != nil {
		return nil, fmt.Errorf("%w: status list: %v", ErrIssuer, err)
	}
	c.mu.Lock()
	c.status, c.statusKid, c.statusFetched = l, kid, now
	c.mu.Unlock()
	return l, nil
}

// issuerKey is a shorthand for the metadata's key.
func (s *issuerState) issuerKey() *jose.PublicKey { return s.meta.JWK }
