package verifier

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/sdjwt"
	"github.com/yinzheng-id/yinzheng/wire"
)

// Reasons a presentation is refused. They are stable: clients and tests
// match them exactly (docs/verifier.md lists them).
const (
	ReasonTooLarge        = "presentation too large"
	ReasonMalformed       = "malformed presentation"
	ReasonOtherRequest    = "presentation answers another request"
	ReasonUnknownNonce    = "nonce unknown or already used"
	ReasonRequestMismatch = "request differs from the one recorded"
	ReasonExpired         = "request expired"
	ReasonWrongType       = "wrong presentation type"
	ReasonWrongIssuer     = "request for another issuer"
	ReasonWrongCircuit    = "wrong circuit"
	ReasonEpoch           = "epoch not accepted"
	// The three root reasons are no longer returned by Verify: the root of
	// an accepted epoch failing is the publication's fault, an error
	// (ErrIssuer) that leaves the request usable. They stay for clients.
	ReasonRootUnavailable = "root statement unavailable"
	ReasonRootInvalid     = "root statement invalid"
	ReasonRootIssuer      = "root statement from another issuer"
	ReasonStaleRoot       = "stale root"
	ReasonSuperseded      = "root superseded (the credential may have been revoked since)"
	ReasonPseudonym       = "malformed pseudonym"
	ReasonProofEncoding   = "malformed proof"
	ReasonProof           = "proof does not verify"

	ReasonKeyBindingMissing = "key binding missing"
	ReasonWrongNonce        = "wrong nonce"
	ReasonWrongScope        = "wrong scope"
	ReasonIssuerSignature   = "issuer signature invalid"
	ReasonCredentialExpired = "credential expired"
	ReasonSDJWT             = "SD-JWT does not verify"
	ReasonCredentialType    = "wrong credential type"
	ReasonStatusUnknown     = "credential status unknown"
	ReasonRevoked           = "credential revoked"
	ReasonExtraClaim        = "claim disclosed beyond the request"
	ReasonMissingClaim      = "requested claim not disclosed"
	ReasonPredicate         = "predicate not satisfied"
)

// Result is the outcome of a verification (the architecture's result
// object). Reasons is empty exactly when Valid is true.
type Result struct {
	Valid   bool     `json:"valid"`
	Reasons []string `json:"reasons"`
	// Predicates are the request's rules and whether they hold, by name:
	// age_over_N, age_under_N, min_level_L, guardian_consent.
	Predicates map[string]bool `json:"predicates"`
	// Pseudonym is the holder's pseudonym for the request's scope (zk).
	Pseudonym string `json:"pseudonym,omitempty"`
	// Claims are the disclosed claims, and only those (sd-jwt).
	Claims map[string]any `json:"claims,omitempty"`
	// Epoch is the accumulator epoch the proof was checked against (zk).
	Epoch *uint64 `json:"epoch,omitempty"`
	// DevelopmentKeys reports that the circuit keys come from the
	// development setup: the proof shows nothing, anyone can forge one.
	DevelopmentKeys bool `json:"development_keys,omitempty"`
	// RequestID is the id (the state) of the request the result decides,
	// and ClientID the platform it was made for (VerifyResponse only).
	RequestID string `json:"request_id,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	// WalletError is the error code a wallet answered with (Decline).
	WalletError string `json:"wallet_error,omitempty"`
}

func refuse(reasons ...string) *Result {
	return &Result{Reasons: reasons, Predicates: map[string]bool{}}
}

// Verify checks a presentation document against the request it answers,
// which must have been made by this verifier (or one sharing its store),
// not used before and not expired. When expected is not nil (the request
// as the caller holds it), the presentation must answer that request and
// the recorded one must be identical to it.
//
// Verify decides first and consumes the request after: it reads the
// recorded request, loads everything the decision needs (the issuer's
// state checked against the pins, root statements, the status list) and
// decides; only then does it take the request out of the store, in one
// atomic step that also records the verdict, so that of concurrent
// verifications of one request (on any replica) exactly one returns the
// decision and the others "nonce unknown or already used". When it cannot
// decide (the publication is unreachable, rolled back or no longer matches
// the pins, the store is unavailable: ErrStoreUnavailable) it returns an
// error and the request is left as it was: the same presentation can be
// verified again later. A refused presentation is a Result with Valid
// false, and consumes the request like a valid one.
func (v *Verifier) Verify(ctx context.Context, presentation []byte, expected *Request) (*Result, error) {
	out := v.VerifyBatch(ctx, []BatchItem{{Presentation: presentation, Expected: expected}})
	return out[0].Result, out[0].Err
}

// BatchItem is one presentation for VerifyBatch, with the request the
// caller expects it to answer (nil: any of this verifier's, as Verify).
type BatchItem struct {
	Presentation []byte
	Expected     *Request
}

// BatchResult is the outcome of one presentation of VerifyBatch, as Verify
// returns it: a Result (valid or refused), or Err when the verifier could
// not decide it (the request is then left unused).
type BatchResult struct {
	Result *Result
	Err    error
}

// maxParallel bounds the presentations of a batch prepared or consumed at
// once (store round trips, proof decoding, SD-JWT signatures).
const maxParallel = 16

// VerifyBatch verifies many presentations at once, each exactly as Verify
// would: the outcome of item i is out[i]. Their zero-knowledge proofs are
// checked together with circuits' batch verification (one multi-pairing
// with secret random weights), which names every proof that fails, so a
// bad proof is refused ("proof does not verify") and never accepted while
// the others of the batch are. Single use is still decided per
// presentation, after its decision: two presentations of one request in a
// batch are decided, and only the first consumes it.
func (v *Verifier) VerifyBatch(ctx context.Context, items []BatchItem) []BatchResult {
	steps := make([]*step, len(items))
	each(len(items), func(i int) {
		steps[i] = v.prepare(ctx, items[i].Presentation, items[i].Expected)
	})
	return v.finish(ctx, steps)
}

// finish checks the proofs of prepared steps together, names each result
// after the request it answers (when the step says which), then consumes
// the requests and records the verdicts.
func (v *Verifier) finish(ctx context.Context, steps []*step) []BatchResult {
	v.checkProofs(steps)
	for _, s := range steps {
		if s.as != nil && s.err == nil && s.res != nil {
			// Before recording: the verdict another replica reports
			// (Result) is the one returned here.
			named(s.res, s.as)
		}
	}
	each(len(steps), func(i int) { v.consume(ctx, steps[i]) })
	out := make([]BatchResult, len(steps))
	for i, s := range steps {
		out[i] = BatchResult{Result: s.res, Err: s.err}
	}
	return out
}

// each runs fn(0…n-1), up to maxParallel at once.
func each(n int, fn func(i int)) {
	if n == 1 {
		fn(0)
		return
	}
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// step is one presentation on its way through VerifyBatch: decided (res),
// undecided (err), or decided but for its proof (check, with res the
// result should the proof hold).
type step struct {
	id        string // the recorded request to consume; "" when none was read
	resultKey []byte
	res       *Result
	err       error
	check     *proofCheck
	// as, when set, is the request the result is named after
	// (VerifyResponses: RequestID and ClientID).
	as *Request
}

// proofCheck is a zero-knowledge proof still to verify.
type proofCheck struct {
	keys        *circuits.Keys
	item        circuits.BatchItem
	development bool
}

// prepare reads the recorded request and decides everything but the
// proof. It changes nothing in the store.
func (v *Verifier) prepare(ctx context.Context, presentation []byte, expected *Request) *step {
	if len(presentation) > MaxDocumentSize {
		return &step{res: refuse(ReasonTooLarge)}
	}
	p, err := ParsePresentation(presentation)
	if err != nil {
		return &step{res: refuse(ReasonMalformed)}
	}
	return v.prepareParsed(ctx, p, expected)
}

// prepareParsed is prepare of a parsed presentation.
func (v *Verifier) prepareParsed(ctx context.Context, p *Presentation, expected *Request) *step {
	if expected != nil && p.RequestID != expected.ID {
		return &step{res: refuse(ReasonOtherRequest)}
	}
	if len(p.RequestID) > maxRequestIDSize {
		return &step{res: refuse(ReasonUnknownNonce)}
	}
	data, err := v.store.GetRequest(ctx, p.RequestID)
	if errors.Is(err, ErrUnknownRequest) {
		return &step{res: refuse(ReasonUnknownNonce)}
	}
	if err != nil {
		return &step{err: err}
	}
	req, key, err := parseRecord(data)
	if err != nil {
		return &step{err: fmt.Errorf("verifier: recorded request %s: %w", p.RequestID, err)}
	}
	return v.prepareRecorded(ctx, p, req, key, expected)
}

// prepareRecorded is prepareParsed of a presentation of the request req,
// read from the store with its result key.
func (v *Verifier) prepareRecorded(ctx context.Context, p *Presentation, req *Request, key []byte, expected *Request) *step {
	if expected != nil && p.RequestID != expected.ID {
		return &step{res: refuse(ReasonOtherRequest)}
	}
	res, check, err := v.decide(ctx, req, p, expected)
	if err != nil {
		return &step{err: err}
	}
	return &step{id: p.RequestID, resultKey: key, res: res, check: check}
}

// checkProofs verifies the proofs still to check, in one batch per key
// set; a proof that fails is refused.
func (v *Verifier) checkProofs(steps []*step) {
	byKeys := map[*circuits.Keys][]*step{}
	for _, s := range steps {
		if s.check != nil {
			byKeys[s.check.keys] = append(byKeys[s.check.keys], s)
		}
	}
	for keys, group := range byKeys {
		bad := make([]bool, len(group))
		if len(group) == 1 {
			it := group[0].check.item
			bad[0] = keys.Verify(it.Statement, it.Pseudonym, it.Proof) != nil
		} else {
			batch := make([]circuits.BatchItem, len(group))
			for i, s := range group {
				batch[i] = s.check.item
			}
			err := keys.VerifyBatch(batch)
			var be *circuits.BatchError
			switch {
			case errors.As(err, &be):
				for _, i := range be.Bad {
					bad[i] = true
				}
			case err != nil:
				// Not a verdict on the proofs (a malformed batch): one
				// by one then.
				for i, it := range batch {
					bad[i] = keys.Verify(it.Statement, it.Pseudonym, it.Proof) != nil
				}
			}
		}
		for i, s := range group {
			if bad[i] {
				s.res = refuse(ReasonProof)
				s.res.DevelopmentKeys = s.check.development
			}
			s.check = nil
		}
	}
}

// consume takes a decided presentation's request out of the store and
// records the verdict. Of concurrent consumes of one request (any
// replica), one succeeds; the others are told the nonce is used.
func (v *Verifier) consume(ctx context.Context, s *step) {
	if s.err != nil || s.id == "" {
		return
	}
	verdict, err := json.Marshal(verdictRecord{Result: s.res, ResultKey: s.resultKey})
	if err != nil {
		s.res, s.err = nil, err
		return
	}
	switch err := v.store.ConsumeRequest(ctx, s.id, verdict, v.requestTTL+expiryMargin); {
	case errors.Is(err, ErrUnknownRequest):
		// Another verification of this request decided first.
		s.res = refuse(ReasonUnknownNonce)
	case err != nil:
		s.res, s.err = nil, err
	}
}

// decide checks p against the recorded request req, all but its proof: a
// zero-knowledge presentation that passes every other check comes back
// with the proof to check, and the result should it hold. It changes
// nothing in the store; an error means it could not decide.
func (v *Verifier) decide(ctx context.Context, req *Request, p *Presentation, expected *Request) (*Result, *proofCheck, error) {
	if expected != nil {
		if same, err := sameRequest(req, expected); err != nil {
			return nil, nil, err
		} else if !same {
			return refuse(ReasonRequestMismatch), nil, nil
		}
	}
	now := v.now()
	expires, err := requestExpiry(req)
	if err != nil {
		return nil, nil, err
	}
	if now.After(expires) {
		return refuse(ReasonExpired), nil, nil
	}
	if (req.SDJWT != nil) != (p.Type == TypeSDJWT) {
		return refuse(ReasonWrongType), nil, nil
	}
	iss, err := v.trust.issuerState(ctx)
	if err != nil {
		return nil, nil, err
	}
	if req.Issuer != iss.meta.Issuer {
		return refuse(ReasonWrongIssuer), nil, nil
	}
	if p.Type == TypeSDJWT {
		res, err := v.verifySDJWT(ctx, iss, req, p, now)
		return res, nil, err
	}
	res, check, err := v.verifyZK(ctx, iss, req, p, now)
	if res != nil {
		res.DevelopmentKeys = iss.development
	}
	return res, check, err
}

// sameRequest compares two requests by their canonical JSON.
func sameRequest(a, b *Request) (bool, error) {
	ja, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ja, jb), nil
}

// supersededTooLong reports whether epoch was superseded by a newer one
// longer than the grace period ago.
func (v *Verifier) supersededTooLong(ctx context.Context, iss *issuerState, epoch uint64, now time.Time) (bool, error) {
	latest, err := v.trust.latestRoot(ctx, iss)
	if err != nil {
		return false, fmt.Errorf("verifier: the issuer's latest root: %w", err)
	}
	if epoch >= latest.Epoch {
		return false, nil
	}
	if latest.Epoch-epoch > publication.EpochGrace {
		return true, nil
	}
	next, err := v.trust.root(ctx, iss, epoch+1)
	if err != nil {
		return false, fmt.Errorf("verifier: root of epoch %d: %w", epoch+1, err)
	}
	return now.Sub(next.IssuedAt) > v.rootGrace, nil
}

func (v *Verifier) verifyZK(ctx context.Context, iss *issuerState, req *Request, p *Presentation, now time.Time) (*Result, *proofCheck, error) {
	if p.CircuitID != req.CircuitID || p.CircuitID != iss.keys.Manifest.CircuitID {
		return refuse(ReasonWrongCircuit), nil, nil
	}
	epoch := *p.Epoch
	if !slices.Contains(req.Epochs, epoch) {
		return refuse(ReasonEpoch), nil, nil
	}
	// The request accepted this epoch from a verified latest root, so its
	// root was published: one missing, forged or garbled now is the
	// publication failing (a mirror, a CDN), not the presentation, and
	// deciding on it would let the mirror burn the request. Undecided: the
	// request stays usable for a retry.
	root, err := v.trust.root(ctx, iss, epoch)
	var rerr *rootError
	if errors.As(err, &rerr) {
		return nil, nil, fmt.Errorf("%w: root of the accepted epoch %d: %w", ErrIssuer, epoch, err)
	}
	if err != nil {
		return nil, nil, err
	}
	if now.Sub(root.IssuedAt) > v.maxRootAge {
		return refuse(ReasonStaleRoot), nil, nil
	}
	// The accepted epochs were fixed when the request was made; a root
	// superseded since (by a revocation, say) is accepted only within the
	// grace period, so a revocation also stops requests already out.
	if superseded, err := v.supersededTooLong(ctx, iss, epoch, now); err != nil {
		return nil, nil, err
	} else if superseded {
		return refuse(ReasonSuperseded), nil, nil
	}
	st, err := statement(req, root)
	if err != nil {
		return nil, nil, fmt.Errorf("verifier: recorded request %s: %w", req.ID, err)
	}
	pseudonym, err := zkhash.ParseElement(p.Pseudonym)
	if err != nil {
		return refuse(ReasonPseudonym), nil, nil
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(p.Proof)
	if err != nil {
		return refuse(ReasonProofEncoding), nil, nil
	}
	var proof circuits.Proof
	if err := proof.UnmarshalBinary(raw); err != nil {
		return refuse(ReasonProofEncoding), nil, nil
	}
	// The proof is checked by the caller, with the other proofs of its
	// batch: this is the result should it hold.
	return &Result{
			Valid:      true,
			Reasons:    []string{},
			Predicates: requestPredicates(req, true),
			Pseudonym:  zkhash.FormatElement(pseudonym),
			Epoch:      &epoch,
		}, &proofCheck{keys: iss.keys, development: iss.development,
			item: circuits.BatchItem{Statement: st, Pseudonym: pseudonym, Proof: &proof}}, nil
}

// statement rebuilds the circuit's public inputs from our recorded request
// and the verified root, with the one builder the wallet uses too.
func statement(req *Request, root *revocation.RootStatement) (*circuits.Statement, error) {
	s, err := wire.Statement(req)
	if err != nil {
		return nil, err
	}
	s.Root = root.Root
	return s, s.Check()
}

// requestPredicates names the request's rules, each with the given value.
func requestPredicates(req *Request, holds bool) map[string]bool {
	out := make(map[string]bool)
	if a := req.Predicates.AgeOver; a != nil {
		out["age_over_"+strconv.Itoa(*a)] = holds
	}
	if a := req.Predicates.AgeUnder; a != nil {
		out["age_under_"+strconv.Itoa(*a)] = holds
	}
	if req.MinLevel > 0 {
		out["min_level_"+strconv.Itoa(req.MinLevel)] = holds
	}
	for _, f := range req.Flags {
		out[f] = holds
	}
	return out
}

func (v *Verifier) verifySDJWT(ctx context.Context, iss *issuerState, req *Request, p *Presentation, now time.Time) (*Result, error) {
	sd, err := sdjwt.ParseCompact(p.SDJWT)
	if err != nil {
		return refuse(ReasonMalformed), nil
	}
	sv := &sdjwt.Verifier{
		IssuerKey:         iss.issuerKey(),
		Audience:          req.Audience,
		Nonce:             req.Nonce,
		RequireKeyBinding: true,
		Now:               v.now,
		MaxSize:           MaxDocumentSize,
	}
	res, err := sv.VerifySDJWT(sd)
	if err != nil {
		return refuse(sdjwtReason(err)), nil
	}
	if res.Claims["iss"] != iss.meta.Issuer || res.Claims["vct"] != schemas.VCT {
		return refuse(ReasonCredentialType), nil
	}
	idx, uri, ok := statusEntry(res.Claims["status"])
	if !ok || uri != iss.meta.StatusListURI {
		return refuse(ReasonStatusUnknown), nil
	}
	list, err := v.trust.statusList(ctx, iss)
	if err != nil {
		return nil, err
	}
	status, err := list.Status(idx)
	if err != nil {
		return refuse(ReasonStatusUnknown), nil
	}
	if status != revocation.Valid {
		return refuse(ReasonRevoked), nil
	}

	disclosed := make(map[string]any)
	var reasons []string
	for _, enc := range sd.Disclosures {
		d, err := sdjwt.ParseDisclosure(enc)
		if err != nil {
			return refuse(ReasonMalformed), nil
		}
		if !d.IsProperty || !slices.Contains(req.SDJWT.Claims, d.Name) {
			if !slices.Contains(reasons, ReasonExtraClaim) {
				reasons = append(reasons, ReasonExtraClaim)
			}
			continue
		}
		disclosed[d.Name] = res.Claims[d.Name]
	}
	for _, c := range req.SDJWT.Claims {
		if _, ok := disclosed[c]; !ok {
			reasons = append(reasons, ReasonMissingClaim)
			break
		}
	}
	if len(reasons) > 0 {
		return refuse(reasons...), nil
	}
	preds, err := claimPredicates(req, disclosed)
	if err != nil {
		return refuse(ReasonMalformed), nil
	}
	out := &Result{Valid: true, Reasons: []string{}, Predicates: preds, Claims: disclosed}
	for _, ok := range preds {
		if !ok {
			out.Valid, out.Reasons = false, []string{ReasonPredicate}
			break
		}
	}
	return out, nil
}

// sdjwtReason maps an SD-JWT verification error to a reason.
func sdjwtReason(err error) string {
	switch {
	case errors.Is(err, sdjwt.ErrTooLarge):
		return ReasonTooLarge
	case errors.Is(err, sdjwt.ErrKBMissing):
		return ReasonKeyBindingMissing
	case errors.Is(err, sdjwt.ErrKBNonce):
		return ReasonWrongNonce
	case errors.Is(err, sdjwt.ErrKBAudience):
		return ReasonWrongScope
	case errors.Is(err, sdjwt.ErrIssuerSignature):
		return ReasonIssuerSignature
	case errors.Is(err, sdjwt.ErrExpired):
		return ReasonCredentialExpired
	case errors.Is(err, sdjwt.ErrType):
		return ReasonCredentialType
	case errors.Is(err, sdjwt.ErrMalformed):
		return ReasonMalformed
	default:
		return ReasonSDJWT
	}
}

// statusEntry reads {"status_list":{"idx":N,"uri":U}}.
func statusEntry(v any) (uint64, string, bool) {
	status, ok := v.(map[string]any)
	if !ok {
		return 0, "", false
	}
	list, ok := status["status_list"].(map[string]any)
	if !ok {
		return 0, "", false
	}
	uri, ok := list["uri"].(string)
	if !ok {
		return 0, "", false
	}
	var idx uint64
	switch n := list["idx"].(type) {
	case json.Number:
		i, err := strconv.ParseUint(string(n), 10, 64)
		if err != nil {
			return 0, "", false
		}
		idx = i
	case float64:
		if n < 0 || n != float64(uint64(n)) {
			return 0, "", false
		}
		idx = uint64(n)
	default:
		return 0, "", false
	}
	return idx, uri, true
}

// claimPredicates decides the request's rules from the disclosed claims
// (checkSDJWTClaims made sure the requested claims suffice).
func claimPredicates(req *Request, claims map[string]any) (map[string]bool, error) {
	today, err := schemas.ParseDate(req.Today)
	if err != nil {
		return nil, err
	}
	var birth *schemas.Date
	if s, ok := claims[schemas.ClaimBirthDate].(string); ok {
		d, err := schemas.ParseDate(s)
		if err != nil {
			return nil, err
		}
		birth = &d
	}
	out := make(map[string]bool)
	if a := req.Predicates.AgeOver; a != nil {
		name := ageOverClaim(*a)
		switch b, isBool := claims[name].(bool); {
		case birth != nil:
			out[name] = schemas.AgeAt(*birth, today) >= *a
		case isBool:
			out[name] = b
		default:
			out[name] = false
		}
	}
	if a := req.Predicates.AgeUnder; a != nil {
		out["age_under_"+strconv.Itoa(*a)] = birth != nil && schemas.AgeAt(*birth, today) < *a
	}
	if req.MinLevel > 0 {
		level, _ := claims[schemas.ClaimLevel].(json.Number)
		l, err := strconv.Atoi(string(level))
		out["min_level_"+strconv.Itoa(req.MinLevel)] = err == nil && l >= req.MinLevel
	}
	for _, f := range req.Flags {
		b, _ := claims[f].(bool)
		out[f] = b
	}
	// Disclosed age claims are facts the holder chose to show: report them.
	for _, n := range []string{schemas.ClaimAgeOver14, schemas.ClaimAgeOver18, schemas.ClaimAgeOver60} {
		if b, ok := claims[n].(bool); ok {
			if _, set := out[n]; !set {
				out[n] = b
			}
		}
	}
	return out, nil
}
