package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/yinzheng-id/yinzheng/publication"
)

// Defaults of Options fields left zero.
const (
	DefaultRequestTTL = 5 * time.Minute
	// DefaultMaxRootAge follows the issuer's epoch schedule: an issuer
	// publishes an epoch (a heartbeat when nothing changed) every
	// publication.DefaultEpochInterval, so a latest root older than three
	// intervals means the issuer stopped publishing or the verifier is
	// being shown an old publication; a revocation is then not seen.
	DefaultMaxRootAge = 3 * publication.DefaultEpochInterval
	DefaultCacheTTL   = time.Minute
)

// maxGraceEpochs bounds how many older epochs RootGrace may add to a
// request, so a publisher cannot make request creation walk its history.
const maxGraceEpochs = 16

// Options configure a Verifier.
type Options struct {
	// Dir is the verifier's directory (VDIR). With the default store,
	// requests are recorded in Dir/requests, a Badger directory that one
	// process at a time can open. With Store or StoreURL set, Dir is only
	// read (for trust.json, when Trust is nil) and never locked, so
	// replicas can share one. Required unless Trust and a store are given.
	Dir string
	// Store, if set, is the store of requests, verdicts and rollback marks
	// (see [Store]); the caller closes it after the verifier.
	Store Store
	// StoreURL, if set and Store is not, names a Redis (or Valkey) server
	// that replicas share: redis://host:port/db, rediss://… with TLS (see
	// [OpenRedisStore]). The verifier opens it and Close closes it.
	// Empty is the embedded Badger store in Dir.
	StoreURL string
	// StorePassword is the Redis password when StoreURL carries none.
	StorePassword string
	// Source reads the issuer's publication. Required.
	Source publication.Source
	// Trust is what the verifier trusts: the pinned issuers, their keys
	// and circuits. Nil reads Dir/trust.json (TrustFileName), written by
	// `yinzheng verifier trust` or [Trust.Write]; without it New fails
	// with ErrNotPinned. The publication must match the pins at every
	// load, or the verifier refuses to work (ErrTrustChanged).
	Trust *Trust
	// Now is the clock; nil means time.Now. Requests take "today" from it.
	Now func() time.Time
	// Rand is the source of nonces and request ids; nil means crypto/rand.
	Rand io.Reader
	// RequestTTL is how long a request can be answered; 0 means
	// DefaultRequestTTL.
	RequestTTL time.Duration
	// MaxRootAge is how old a root statement may be when a presentation
	// proves against it, and how old the latest root may be for requests
	// to be made and for the verifier to be ready; 0 means
	// DefaultMaxRootAge. Set it from the issuer's epoch interval.
	MaxRootAge time.Duration
	// RootGrace makes requests accept, besides the latest epoch, the epochs
	// that were the latest within the last RootGrace (holders whose path is
	// a little behind can still prove). 0 accepts only the latest.
	RootGrace time.Duration
	// CacheTTL is how long issuer metadata, the verifying key, root
	// statements and the status list are kept in memory; 0 means
	// DefaultCacheTTL.
	CacheTTL time.Duration
	// AllowDevelopmentKeys accepts circuit keys from the development setup,
	// whose randomness is public so that anyone can forge proofs. The pin
	// must allow them too (TrustedIssuer.AllowDevelopmentKeys): both the
	// operator who pinned and the program that runs must have asked.
	// Development keys are recognised by their circuit id, whatever the
	// manifest's label. Only tests and the demo set it; results say so.
	AllowDevelopmentKeys bool
}

// Verifier makes requests and verifies the presentations that answer them.
// It is safe for concurrent use.
type Verifier struct {
	store      Store
	ownStore   bool // opened by New, closed by Close
	trust      *trustCache
	now        func() time.Time
	rand       io.Reader
	requestTTL time.Duration
	maxRootAge time.Duration
	rootGrace  time.Duration
}

// New reads the trust (opts.Trust, or Dir/trust.json) and opens the
// verifier's request store in opts.Dir. Close it when done. It does not
// contact the issuer: the publication is read, and checked against the
// pins, on first use.
func New(opts Options) (*Verifier, error) {
	shared := opts.Store != nil || opts.StoreURL != ""
	if opts.Dir == "" && (!shared || opts.Trust == nil) {
		return nil, errors.New("verifier: no directory")
	}
	if opts.Source == nil {
		return nil, errors.New("verifier: no issuer publication source")
	}
	pins := opts.Trust
	if pins == nil {
		t, err := ReadTrust(opts.Dir)
		if err != nil {
			return nil, err
		}
		pins = t
	} else if err := pins.check(); err != nil {
		return nil, err
	} else {
		pins = pins.clone() // the caller may go on editing its copy
	}
	if len(pins.Issuers) == 0 {
		return nil, fmt.Errorf("%w: the trust pins no issuer", ErrNotPinned)
	}
	for _, d := range []time.Duration{opts.RequestTTL, opts.MaxRootAge, opts.RootGrace, opts.CacheTTL} {
		if d < 0 {
			return nil, fmt.Errorf("verifier: negative duration %v", d)
		}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	store, own := opts.Store, false
	if store == nil {
		var err error
		if opts.StoreURL != "" {
			store, err = OpenRedisStore(opts.StoreURL, opts.StorePassword)
		} else {
			store, err = openStore(opts.Dir)
		}
		if err != nil {
			return nil, err
		}
		own = true
	}
	return &Verifier{
		store:    store,
		ownStore: own,
		trust: &trustCache{
			src:      opts.Source,
			ttl:      orDefault(opts.CacheTTL, DefaultCacheTTL),
			now:      now,
			allowDev: opts.AllowDevelopmentKeys,
			pins:     pins,
			marks:    store,
		},
		now:        now,
		rand:       defaultRandom(opts.Rand),
		requestTTL: orDefault(opts.RequestTTL, DefaultRequestTTL),
		maxRootAge: orDefault(opts.MaxRootAge, DefaultMaxRootAge),
		rootGrace:  opts.RootGrace,
	}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Close closes the store New opened (not one passed as Options.Store).
func (v *Verifier) Close() error {
	if !v.ownStore {
		return nil
	}
	return v.store.Close()
}

// NewRequest turns a policy into a request, records it for single use and
// returns it. The request accepts the issuer's latest epoch (and, with
// RootGrace, the epochs that were latest within the grace period).
func (v *Verifier) NewRequest(ctx context.Context, p Policy) (*Request, error) {
	return v.newRequest(ctx, p, nil)
}

// newRequest makes and records a request; resultKey is the hash of its
// result token (nil: no result is reported).
func (v *Verifier) newRequest(ctx context.Context, p Policy, resultKey []byte) (*Request, error) {
	iss, err := v.trust.issuerState(ctx)
	if err != nil {
		return nil, err
	}
	now := v.now()
	latest, err := v.trust.latestRoot(ctx, iss)
	if err != nil {
		return nil, fmt.Errorf("verifier: the issuer's latest root: %w", err)
	}
	if age := now.Sub(latest.IssuedAt); age > v.maxRootAge {
		return nil, fmt.Errorf("%w: the issuer's latest root (epoch %d) was published %s ago, more than the accepted %s: the issuer must publish",
			ErrStaleRoot, latest.Epoch, age.Round(time.Second), v.maxRootAge)
	}
	epochs := []uint64{latest.Epoch}
	// Epoch e was the latest until e+1 was published.
	supersededAt := latest.IssuedAt
	for e := latest.Epoch; v.rootGrace > 0 && e > 0 && len(epochs) <= maxGraceEpochs && now.Sub(supersededAt) <= v.rootGrace; {
		e--
		st, err := v.trust.root(ctx, iss, e)
		var rerr *rootError
		if errors.As(err, &rerr) && rerr.reason == ReasonRootUnavailable {
			break // the start of the published history
		}
		if err != nil {
			return nil, fmt.Errorf("verifier: root of epoch %d: %w", e, err)
		}
		epochs = append(epochs, e)
		supersededAt = st.IssuedAt
	}
	r, err := buildRequest(p, iss, epochs, now, v.requestTTL, v.rand)
	if err != nil {
		return nil, err
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	rec, err := json.Marshal(requestRecord{Request: doc, ResultKey: resultKey})
	if err != nil {
		return nil, err
	}
	if err := v.store.PutRequest(ctx, r.ID, rec, v.requestTTL+expiryMargin); err != nil {
		return nil, err
	}
	return r, nil
}
