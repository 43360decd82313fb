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
)

// ErrUntrustedKeys means the issuer publishes circuit keys this verifier
// does not accept: development keys (recognised by their circuit id) that
// were not allowed, or a circuit that cannot be pinned.
var ErrUntrustedKeys = errors.New("verifier: untrusted circuit keys")

// ErrIssuer means the issuer's publication is inconsistent or unusable.
var ErrIssuer = errors.New("verifier: issuer publication unusable")

// ErrRolledBack means the publication is older than one this verifier has
// already verified: a latest root of a lower epoch than one seen, or a
// status list issued before one seen. A stale mirror or an attacker
// replaying old, validly signed files would otherwise bring revoked
// credentials back.
var ErrRolledBack = errors.New("verifier: publication rolled back")

// issuerState is what the verifier trusts about the issuer: its metadata
// and its circuit's verifying key, both matching the pins.
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
	src      publication.Source
	ttl      time.Duration
	now      func() time.Time
	allowDev bool
	pins     *Trust
	marks    Store // durable high-water marks (rollback)

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
	p, err := readPublication(ctx, c.src)
	if err != nil {
		return nil, err
	}
	ti := c.pins.Lookup(p.Issuer)
	if ti == nil {
		return nil, c.pins.Check(p) // names the issuer ids
	}
	allowDev := c.allowDev && ti.AllowDevelopmentKeys
	// Development keys before a changed key or circuit: a forgeable
	// circuit is the refusal an operator must see.
	if err := checkSetup(p.keys.Manifest, allowDev); err != nil {
		if p.DevelopmentKeys && ti.AllowDevelopmentKeys {
			return nil, fmt.Errorf("%w (the pin allows development keys, Options.AllowDevelopmentKeys does not)", err)
		}
		return nil, err
	}
	if err := c.pins.Check(p); err != nil {
		return nil, err
	}
	return &issuerState{meta: p.meta, keys: p.keys, development: p.DevelopmentKeys}, nil
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
	// The latest root never goes back. Epoch roots need no mark of their
	// own: a presentation may only use an epoch its recorded request
	// accepts, and those came from a latest root verified here, so none
	// is above the mark.
	if err := c.marks.AdvanceMarks(ctx, iss.meta.Issuer, &st.Epoch, nil); err != nil {
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
		return nil, fmt.Errorf("%w: status list: %w", ErrIssuer, err)
	}
	iat := l.IssuedAt.Unix()
	if err := c.marks.AdvanceMarks(ctx, iss.meta.Issuer, nil, &iat); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.status, c.statusKid, c.statusFetched = l, kid, now
	c.mu.Unlock()
	return l, nil
}

// issuerKey is a shorthand for the metadata's key.
func (s *issuerState) issuerKey() *jose.PublicKey { return s.meta.JWK }
