package verifier_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	bn254 "github.com/consensys/gnark-crypto/ecc/bn254"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
	"github.com/yinzheng-id/yinzheng/wire"
)

// zkTokenWith is the vp_token of a zero-knowledge presentation of tx
// carrying the given proof and pseudonym.
func (e *env) zkTokenWith(tx *verifier.Transaction, proof *circuits.Proof, pseudonym string) []byte {
	e.t.Helper()
	raw, err := proof.MarshalBinary()
	if err != nil {
		e.t.Fatal(err)
	}
	return e.rawZKToken(tx, raw, pseudonym)
}

func (e *env) rawZKToken(tx *verifier.Transaction, raw []byte, pseudonym string) []byte {
	e.t.Helper()
	epoch := e.epoch
	tok, err := wire.NewVPToken(&verifier.Presentation{Version: verifier.FormatVersion, Type: verifier.TypeZK,
		RequestID: tx.ID, CircuitID: e.iss.Keys.Manifest.CircuitID, Epoch: &epoch, Pseudonym: pseudonym,
		Proof: base64.RawURLEncoding.EncodeToString(raw)})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// TestVerifyResponsesBadProofs: a batch of platform answers, good ones and
// ones whose proof fails in one way each (a public input swapped, a proof
// point taken from another proof, the proof of another transaction), with
// an SD-JWT answer and a malformed one among them. The proofs are checked
// together (one multi-pairing); exactly the bad ones are refused ("proof
// does not verify"), each named after its transaction and consumed, with
// its verdict recorded; the others are accepted.
func TestVerifyResponsesBadProofs(t *testing.T) {
	e := setup(t, nil)
	pl := platformFor(t, "platform-a.example")
	pl.ResultSecret = []byte("responses test result secret")
	policy := verifier.Policy{AgeOver: intp(18)}
	anyNonce, err := schemas.NonceElement(make([]byte, verifier.NonceSize))
	if err != nil {
		t.Fatal(err)
	}
	good1, good2 := e.transaction(pl, policy), e.transaction(pl, policy)
	goodPres := e.adult.Prove(t, good1.Request, e.epoch)
	goodRaw, err := base64.RawURLEncoding.DecodeString(goodPres.Proof)
	if err != nil {
		t.Fatal(err)
	}
	input, point, foreign := e.transaction(pl, policy), e.transaction(pl, policy), e.transaction(pl, policy)
	sdTx := e.transaction(pl, verifier.Policy{AgeOver: intp(18), SDJWTClaims: []string{schemas.ClaimAgeOver18}})
	malformed := e.transaction(pl, policy)

	// The nonce input swapped: a proof of another statement.
	s := verifiertest.Statement(t, input.Request, e.rootOf(e.epoch))
	s.Nonce = anyNonce
	inputProof, pseudonym := e.adult.ProveStatement(t, s)
	// Proof point A of another (valid) proof.
	s = verifiertest.Statement(t, point.Request, e.rootOf(e.epoch))
	pointProof, _ := e.adult.ProveStatement(t, s)
	pointRaw, err := pointProof.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	copy(pointRaw[1:1+bn254.SizeOfG1AffineCompressed], goodRaw[1:1+bn254.SizeOfG1AffineCompressed])
	sdTok, err := wire.NewVPToken(e.adult.Present(t, sdTx.Request, nil, "", "", true, base))
	if err != nil {
		t.Fatal(err)
	}
	good1Tok, err := wire.NewVPToken(goodPres)
	if err != nil {
		t.Fatal(err)
	}
	ps := zkhash.FormatElement(pseudonym)
	items := []verifier.ResponseItem{
		{State: good1.ID, VPToken: good1Tok, Expected: good1.Object},
		{State: input.ID, VPToken: e.zkTokenWith(input, inputProof, ps), Expected: input.Object},
		{State: good2.ID, VPToken: e.zkToken(good2), Expected: good2.Object},
		{State: point.ID, VPToken: e.rawZKToken(point, pointRaw, ps), Expected: point.Object},
		{State: sdTx.ID, VPToken: sdTok, Expected: sdTx.Object},
		// The proof of good1, posted with foreign's state.
		{State: foreign.ID, VPToken: e.rawZKToken(foreign, goodRaw, goodPres.Pseudonym), Expected: foreign.Object},
		{State: malformed.ID, VPToken: []byte(`{"yinzheng_zk":[{}]}`), Expected: malformed.Object},
	}
	out := e.v.VerifyResponses(e.ctx, items)
	if len(out) != len(items) {
		t.Fatalf("%d outcomes for %d answers", len(out), len(items))
	}
	want := []string{"", verifier.ReasonProof, "", verifier.ReasonProof, "", verifier.ReasonProof, verifier.ReasonMalformed}
	for i, o := range out {
		if o.Err != nil {
			t.Fatalf("answer %d: %v", i, o.Err)
		}
		if want[i] == "" {
			if !o.Result.Valid {
				t.Fatalf("good answer %d refused: %+v", i, o.Result)
			}
		} else {
			wantReason(t, o.Result, want[i])
			if o.Result.Predicates["age_over_18"] {
				t.Fatalf("refused answer %d reports the predicate as holding: %+v", i, o.Result)
			}
		}
		if o.Result.RequestID != items[i].State || o.Result.ClientID != pl.ClientID() {
			t.Fatalf("answer %d names %q %q", i, o.Result.RequestID, o.Result.ClientID)
		}
		// Decided, so consumed, and the verdict recorded as returned.
		if _, err := e.v.RecordedTransaction(e.ctx, items[i].State); !errors.Is(err, verifier.ErrUnknownRequest) {
			t.Fatalf("answer %d: transaction still open: %v", i, err)
		}
		rec, err := e.v.Result(e.ctx, items[i].State, verifier.PlatformResultToken(pl.ResultSecret, items[i].State))
		if err != nil || rec.Valid != o.Result.Valid || fmt.Sprint(rec.Reasons) != fmt.Sprint(o.Result.Reasons) {
			t.Fatalf("answer %d: recorded %+v %v, returned %+v", i, rec, err, o.Result)
		}
	}
}

// TestVerifyResponsesSingleUse: two answers for one state in one batch
// (the same answer twice; a good one and a malformed one) take the
// transaction once; the other is told the nonce is used, and the verdict
// recorded is the one of the answer taken.
func TestVerifyResponsesSingleUse(t *testing.T) {
	e := setup(t, nil)
	pl := platformFor(t, "platform-a.example")
	pl.ResultSecret = []byte("responses test result secret")
	for name, second := range map[string]func(tx *verifier.Transaction, tok []byte) []byte{
		"same answer": func(_ *verifier.Transaction, tok []byte) []byte { return tok },
		"malformed":   func(*verifier.Transaction, []byte) []byte { return []byte("{") },
	} {
		t.Run(name, func(t *testing.T) {
			tx := e.transaction(pl, verifier.Policy{AgeOver: intp(18)})
			tok := e.zkToken(tx)
			out := e.v.VerifyResponses(e.ctx, []verifier.ResponseItem{
				{State: tx.ID, VPToken: tok, Expected: tx.Object},
				{State: tx.ID, VPToken: second(tx, tok), Expected: tx.Object},
			})
			taken := -1
			for i, o := range out {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				if len(o.Result.Reasons) > 0 && o.Result.Reasons[0] == verifier.ReasonUnknownNonce {
					continue
				}
				if taken >= 0 {
					t.Fatalf("both answers taken: %+v %+v", out[0].Result, out[1].Result)
				}
				taken = i
			}
			if taken < 0 {
				t.Fatalf("neither answer taken: %+v %+v", out[0].Result, out[1].Result)
			}
			rec, err := e.v.Result(e.ctx, tx.ID, verifier.PlatformResultToken(pl.ResultSecret, tx.ID))
			if err != nil || rec.Valid != out[taken].Result.Valid || fmt.Sprint(rec.Reasons) != fmt.Sprint(out[taken].Result.Reasons) {
				t.Fatalf("recorded %+v %v, taken %+v", rec, err, out[taken].Result)
			}
		})
	}
}

// failingStore is a store that can be taken down for reads or for the
// consuming write alone.
type failingStore struct {
	verifier.Store
	readsDown, consumeDown atomic.Bool
}

var errDown = fmt.Errorf("%w: test store down", verifier.ErrStoreUnavailable)

func (f *failingStore) GetRequest(ctx context.Context, id string) ([]byte, error) {
	if f.readsDown.Load() {
		return nil, errDown
	}
	return f.Store.GetRequest(ctx, id)
}

func (f *failingStore) ConsumeRequest(ctx context.Context, id string, verdict []byte, ttl time.Duration) error {
	if f.consumeDown.Load() {
		return errDown
	}
	return f.Store.ConsumeRequest(ctx, id, verdict, ttl)
}

// TestVerifyResponsesStoreUnavailable: with the store unreadable, or
// readable but refusing the consuming write, every answer of a batch is
// undecided (an error wrapping ErrStoreUnavailable, no result) and no
// transaction is consumed: once the store is back the same batch is
// accepted.
func TestVerifyResponsesStoreUnavailable(t *testing.T) {
	store, err := verifier.OpenBadgerStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	fs := &failingStore{Store: store}
	e := setup(t, func(o *verifier.Options) { o.Store = fs })
	pl := platformFor(t, "platform-a.example")
	var items []verifier.ResponseItem
	for range 3 {
		tx := e.transaction(pl, verifier.Policy{AgeOver: intp(18)})
		items = append(items, verifier.ResponseItem{State: tx.ID, VPToken: e.zkToken(tx), Expected: tx.Object})
	}
	sdTx := e.transaction(pl, verifier.Policy{AgeOver: intp(18), SDJWTClaims: []string{schemas.ClaimAgeOver18}})
	sdTok, err := wire.NewVPToken(e.adult.Present(t, sdTx.Request, nil, "", "", true, base))
	if err != nil {
		t.Fatal(err)
	}
	items = append(items, verifier.ResponseItem{State: sdTx.ID, VPToken: sdTok, Expected: sdTx.Object},
		// Refused before its presentation is read: consumed when decided,
		// so undecided too while the store cannot be written.
		verifier.ResponseItem{State: items[0].State, VPToken: []byte("{")})
	for _, down := range []*atomic.Bool{&fs.readsDown, &fs.consumeDown} {
		down.Store(true)
		for i, o := range e.v.VerifyResponses(e.ctx, items) {
			if !errors.Is(o.Err, verifier.ErrStoreUnavailable) || o.Result != nil {
				t.Fatalf("answer %d with the store down: %+v %v", i, o.Result, o.Err)
			}
		}
		down.Store(false)
		for i, it := range items[:4] {
			if _, err := e.v.RecordedTransaction(e.ctx, it.State); err != nil {
				t.Fatalf("answer %d: transaction consumed while the store was down: %v", i, err)
			}
		}
	}
	for i, o := range e.v.VerifyResponses(e.ctx, items[:4]) {
		if o.Err != nil || !o.Result.Valid {
			t.Fatalf("answer %d once the store is back: %+v %v", i, o.Result, o.Err)
		}
	}
}
