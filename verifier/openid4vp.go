package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/wire"
)

// ReasonDeclined is the reason of a transaction the wallet answered with an
// error response (access_denied and the like) instead of a vp_token.
const ReasonDeclined = "the wallet declined the request"

// ErrPlatform means a platform identity cannot sign requests: no key or
// chain, a leaf that does not name the domain, a response URI off it.
var ErrPlatform = errors.New("verifier: unusable platform identity")

// Platform is the registered identity a verifier asks under: the
// platform's domain, its access certificate chain and key (from the
// registrar, `yinzheng registry register`), the signed registration and the
// registrar's status token it staples into every request, and the
// response URI on its domain where wallets post their answers.
type Platform struct {
	// Domain is the platform's DNS name; the client_id is
	// x509_san_dns:Domain.
	Domain string
	// Chain is the access certificate chain, leaf first.
	Chain []*smx509.Certificate
	// Key is the leaf certificate's private key.
	Key *jose.PrivateKey
	// Registration is the registrar's signed registration (compact JWT).
	Registration string
	// Status is the registrar's status list token ("" staples none; a
	// wallet then refuses the request).
	Status string
	// ResponseURI is where wallets post (direct_post): an https URL on
	// Domain (plain http only on loopback), one the registration lists.
	ResponseURI string
	// ResultSecret, when set, gives each transaction a result token,
	// PlatformResultToken(ResultSecret, id), with which [Verifier.Result]
	// reports its verdict; every replica of a platform service holding
	// the secret can so report any transaction. Nil records none.
	ResultSecret []byte
}

// ClientID is the platform's client_id, x509_san_dns:Domain.
func (p *Platform) ClientID() string { return wire.ClientIDOf(p.Domain) }

func (p *Platform) check() error {
	if p == nil || p.Key == nil || len(p.Chain) == 0 || p.Registration == "" {
		return fmt.Errorf("%w: a platform needs its key, certificate chain and registration", ErrPlatform)
	}
	if !wire.ValidDNSName(p.Domain) {
		return fmt.Errorf("%w: domain %q is not a DNS name", ErrPlatform, p.Domain)
	}
	if err := p.Chain[0].VerifyHostname(p.Domain); err != nil && !hasDNSName(p.Chain[0], p.Domain) {
		return fmt.Errorf("%w: the access certificate does not name %s", ErrPlatform, p.Domain)
	}
	u, err := wire.CheckHTTPSURL("response_uri", p.ResponseURI)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPlatform, err)
	}
	if u.Hostname() != p.Domain {
		return fmt.Errorf("%w: response URI %s is not on %s", ErrPlatform, p.ResponseURI, p.Domain)
	}
	return nil
}

func hasDNSName(c *smx509.Certificate, domain string) bool {
	for _, n := range c.DNSNames {
		if strings.EqualFold(n, domain) {
			return true
		}
	}
	return false
}

// Transaction is one request of a platform to one wallet.
type Transaction struct {
	// ID is the transaction's id, also the request's state and id.
	ID string
	// Request is the Yinzheng request the object carries (its Scope and
	// Audience are the client_id).
	Request *Request
	// Object is the request object, RequestObject its signed compact JWS
	// (what request_uri serves).
	Object        *wire.RequestObject
	RequestObject string
}

// NewPlatformRequest makes a request for policy under the platform's identity:
// the scope is the platform's client_id (p.Scope, if set, must be it), the
// request is recorded for single use like NewRequest's (with its request
// object, see RecordedTransaction), and it is carried
// by a request object signed with the platform's key, with the x5c chain
// and the registration and status token stapled in verifier_info.
func (v *Verifier) NewPlatformRequest(ctx context.Context, p Policy, pl *Platform) (*Transaction, error) {
	if err := pl.check(); err != nil {
		return nil, err
	}
	if v.requestTTL > wire.MaxRequestLifetime {
		return nil, fmt.Errorf("%w: a request object lives at most %s, the verifier's request TTL is %s", ErrPolicy, wire.MaxRequestLifetime, v.requestTTL)
	}
	if p.Scope != "" && p.Scope != pl.ClientID() {
		return nil, fmt.Errorf("%w: the scope of a platform's request is its client_id %s, not %q", ErrPolicy, pl.ClientID(), p.Scope)
	}
	p.Scope = pl.ClientID()
	req, err := v.makeRequest(ctx, p)
	if err != nil {
		return nil, err
	}
	info := []wire.VerifierInfo{{Format: wire.VerifierInfoRegistration, Data: pl.Registration}}
	if pl.Status != "" {
		info = append(info, wire.VerifierInfo{Format: wire.VerifierInfoStatus, Data: pl.Status})
	}
	ro, err := wire.NewRequestObject(req, pl.ResponseURI, v.now(), info)
	if err != nil {
		return nil, err
	}
	jwt, err := wire.SignRequestObject(pl.Key, wire.DERChain(pl.Chain), ro)
	if err != nil {
		return nil, fmt.Errorf("verifier: signing the request object: %w", err)
	}
	obj, err := json.Marshal(ro)
	if err != nil {
		return nil, err
	}
	rec := requestRecord{Object: obj, RequestObject: jwt}
	if pl.ResultSecret != nil {
		rec.ResultKey = resultKey(PlatformResultToken(pl.ResultSecret, req.ID))
	}
	// Recorded with its request object, so any replica sharing the store
	// can serve request_uri and check the answer.
	if err := v.record(ctx, req, rec); err != nil {
		return nil, err
	}
	return &Transaction{ID: req.ID, Request: req, Object: ro, RequestObject: jwt}, nil
}

// VerifyResponse checks a vp_token (the JSON object keyed by credential
// query id) posted with state against the transaction recorded under that
// state, and only that one. When expected is not nil (the request object
// as the caller holds it) the state must be its state and the recorded
// request the one it carries. The result names the request (RequestID)
// and the client_id it was made for. Like Verify, it decides first and
// consumes the transaction after; an error means it could not decide. An
// answer refused before its presentation is read (too large, malformed)
// consumes the transaction too: it is the transaction's one answer.
//
// It is VerifyResponses of one answer.
func (v *Verifier) VerifyResponse(ctx context.Context, state string, vpToken []byte, expected *wire.RequestObject) (*Result, error) {
	out := v.VerifyResponses(ctx, []ResponseItem{{State: state, VPToken: vpToken, Expected: expected}})
	return out[0].Result, out[0].Err
}

// ResponseItem is one wallet answer for VerifyResponses: the vp_token
// posted with state, and the request object the caller holds for that
// transaction (nil: the one recorded under state).
type ResponseItem struct {
	State    string
	VPToken  []byte
	Expected *wire.RequestObject
}

// VerifyResponses verifies many wallet answers at once, each exactly as
// VerifyResponse would: the outcome of item i is out[i], with the same
// refusals, the same consumption of the transaction (an answer refused
// before its presentation is read consumes it too) and the same errors
// when the verifier cannot decide (the transaction is then left as it
// was). The zero-knowledge proofs of the batch are checked together, as
// VerifyBatch checks them (one multi-pairing naming every proof that
// fails): a bad proof is refused ("proof does not verify"), never
// accepted along with the others. Single use is decided per answer: of two
// answers for one state, one is taken and the other is told the nonce is
// used.
func (v *Verifier) VerifyResponses(ctx context.Context, items []ResponseItem) []BatchResult {
	steps := make([]*step, len(items))
	each(len(items), func(i int) { steps[i] = v.prepareResponse(ctx, items[i]) })
	return v.finish(ctx, steps)
}

// prepareResponse reads the transaction of one answer and decides
// everything but its proof. It changes nothing in the store.
func (v *Verifier) prepareResponse(ctx context.Context, it ResponseItem) *step {
	if it.Expected != nil && it.Expected.State != it.State {
		return &step{res: refuse(ReasonOtherRequest)}
	}
	recorded, key, err := v.recorded(ctx, it.State)
	if errors.Is(err, ErrUnknownRequest) {
		return &step{res: refuse(ReasonUnknownNonce)}
	}
	if err != nil {
		return &step{err: err}
	}
	// An answer refused before its presentation is read is the
	// transaction's verdict too (recorded, so any replica reports it): a
	// transaction has one answer, as a declined one does.
	answered := func(reason string) *step {
		return &step{id: recorded.ID, resultKey: key, res: refuse(reason), as: recorded}
	}
	var want *Request
	if it.Expected != nil {
		if want, err = it.Expected.YinzhengRequest(); err != nil {
			return answered(ReasonRequestMismatch)
		}
		if want.SDJWT != nil {
			// An SD-JWT query carries the claims, not the issuer or the
			// rules the verifier decides from them: those are compared
			// as recorded, what the object carries as it says.
			claims := want.SDJWT
			*want = *recorded
			want.ID, want.Nonce, want.Scope, want.Audience = it.Expected.State, it.Expected.Nonce, it.Expected.ClientID, it.Expected.ClientID
			want.ExpiresAt, want.SDJWT = time.Unix(it.Expected.Expires, 0).UTC().Format(time.RFC3339), claims
		}
	}
	if len(it.VPToken) > MaxDocumentSize {
		return answered(ReasonTooLarge)
	}
	tok, err := wire.ParseVPToken(it.VPToken)
	if err != nil {
		return answered(ReasonMalformed)
	}
	p, err := tok.Presentation(recorded)
	if err != nil {
		return answered(ReasonMalformed)
	}
	// The record just read is the one decided on (p names it): no second
	// read of the store.
	s := v.prepareRecorded(ctx, p, recorded, key, want)
	s.as = recorded
	return s
}

// Decline records a wallet's error response (error=access_denied …) for
// the transaction of state: the transaction is consumed and the result is
// a refusal with ReasonDeclined and the code. A code that is not an error
// code (wire.ValidErrorCode) is a malformed answer, recorded as
// ReasonMalformed without it: anyone holding the state may post, and what
// they post must not fill the shared store or the platform's verdict.
func (v *Verifier) Decline(ctx context.Context, state, code string) (*Result, error) {
	recorded, key, err := v.recorded(ctx, state)
	if errors.Is(err, ErrUnknownRequest) {
		return refuse(ReasonUnknownNonce), nil
	}
	if err != nil {
		return nil, err
	}
	if !wire.ValidErrorCode(code) {
		return v.settle(ctx, named(refuse(ReasonMalformed), recorded), key)
	}
	res := named(refuse(ReasonDeclined), recorded)
	res.WalletError = code
	return v.settle(ctx, res, key)
}

// settle consumes the transaction res names (its RequestID) and records
// res as its verdict, with result key key, as every verification does
// (consume). Consumed meanwhile (another answer, on any replica, came
// first), it is ReasonUnknownNonce.
func (v *Verifier) settle(ctx context.Context, res *Result, key []byte) (*Result, error) {
	s := &step{id: res.RequestID, resultKey: key, res: res}
	v.consume(ctx, s)
	return s.res, s.err
}

// recorded reads the request recorded under id, and its result key.
func (v *Verifier) recorded(ctx context.Context, id string) (*Request, []byte, error) {
	if id == "" || len(id) > maxRequestIDSize {
		return nil, nil, ErrUnknownRequest
	}
	data, err := v.store.GetRequest(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	req, key, err := parseRecord(data)
	if err != nil {
		return nil, nil, fmt.Errorf("verifier: recorded request %s: %w", id, err)
	}
	return req, key, nil
}

// named adds the request's identity to a result.
func named(res *Result, req *Request) *Result {
	res.RequestID, res.ClientID = req.ID, req.Scope
	if !res.Valid {
		// The rules asked, each not shown to hold.
		for k := range requestPredicates(req, false) {
			if _, ok := res.Predicates[k]; !ok {
				res.Predicates[k] = false
			}
		}
	}
	return res
}
