package verifier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/yinzheng-id/yinzheng/revocation"
)

// ErrStaleRoot means the issuer's latest root is older than MaxRootAge:
// the issuer stopped publishing, or the verifier is shown an old
// publication. No request is made and the verifier is not ready.
var ErrStaleRoot = errors.New("verifier: the issuer's latest root is stale")

// ErrStatusListExpired means the issuer's status list has expired, so
// SD-JWT presentations cannot be decided.
var ErrStatusListExpired = revocation.ErrStatusListExpired

// Readiness is what [Verifier.Ready] found out, as far as it got.
type Readiness struct {
	// Issuer is the pinned issuer the publication names ("" when
	// issuer.json could not be read or does not match the pins).
	Issuer string
	// Epoch and RootIssuedAt are those of the latest verified root
	// (RootIssuedAt is zero when none was verified).
	Epoch        uint64
	RootIssuedAt time.Time
	// StatusListExpires is the verified status list's expiry (zero when
	// none was verified, or it has none).
	StatusListExpires time.Time
}

// Ready reports whether the verifier can decide presentations now: its
// store answers (ErrStoreUnavailable otherwise), the publication is reachable, matches the pins (issuer, key, circuit,
// development keys allowed or not), its latest root is not rolled back
// and at most MaxRootAge old, and its status list has not expired. The
// error wraps the first failing check's sentinel (ErrStoreUnavailable, ErrNotPinned,
// ErrTrustChanged, ErrUntrustedKeys, ErrIssuer, ErrRolledBack,
// ErrStaleRoot, ErrStatusListExpired) or is the source's error. It uses
// the same caches as Verify, so calling it often is cheap.
func (v *Verifier) Ready(ctx context.Context) (Readiness, error) {
	var r Readiness
	if err := v.store.Ping(ctx); err != nil {
		return r, err
	}
	iss, err := v.trust.issuerState(ctx)
	if err != nil {
		return r, err
	}
	r.Issuer = iss.meta.Issuer
	latest, err := v.trust.latestRoot(ctx, iss)
	if err != nil {
		return r, fmt.Errorf("verifier: the issuer's latest root: %w", err)
	}
	r.Epoch, r.RootIssuedAt = latest.Epoch, latest.IssuedAt
	now := v.now()
	if age := now.Sub(latest.IssuedAt); age > v.maxRootAge {
		return r, fmt.Errorf("%w: epoch %d was published %s ago, more than the accepted %s",
			ErrStaleRoot, latest.Epoch, age.Round(time.Second), v.maxRootAge)
	}
	list, err := v.trust.statusList(ctx, iss)
	if err != nil {
		return r, err
	}
	r.StatusListExpires = list.Expires
	return r, nil
}
