package verifier_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
	"github.com/yinzheng-id/yinzheng/wire"
)

func platformFor(t testing.TB, domain string) *verifier.Platform {
	t.Helper()
	r := registrytest.New(t, jose.SuiteGM)
	p := r.Register(t, domain, registry.Entitlements{Predicates: registry.Predicates(), Claims: []string{schemas.ClaimAgeOver18}, LegalBasis: "test"})
	return &verifier.Platform{Domain: p.Domain, Chain: p.Chain, Key: p.Key, Registration: p.Registration, Status: p.Status,
		ResponseURI: "https://" + p.Domain + "/openid4vp/response"}
}

func (e *env) transaction(pl *verifier.Platform, p verifier.Policy) *verifier.Transaction {
	e.t.Helper()
	tx, err := e.v.NewPlatformRequest(e.ctx, p, pl)
	if err != nil {
		e.t.Fatal(err)
	}
	return tx
}

func (e *env) zkToken(tx *verifier.Transaction) []byte {
	e.t.Helper()
	tok, err := wire.NewVPToken(e.adult.Prove(e.t, tx.Request, e.epoch))
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// TestTransaction: the request object carries the platform's identity and
// a request whose scope is the client_id; it verifies as a wallet reads it.
func TestTransaction(t *testing.T) {
	e := setup(t, nil)
	pl := platformFor(t, "platform-a.example")
	tx := e.transaction(pl, verifier.Policy{AgeOver: intp(18)})
	if tx.Request.Scope != "x509_san_dns:platform-a.example" || tx.Request.Audience != tx.Request.Scope || tx.Object.State != tx.ID {
		t.Fatalf("request %+v", tx.Request)
	}
	sro, err := wire.VerifyRequestObject(tx.RequestObject, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(sro.Object.VerifierInfo) != 2 || sro.Object.VerifierInfo[0].Data != pl.Registration || sro.Object.VerifierInfo[1].Data != pl.Status {
		t.Fatalf("verifier_info %+v", sro.Object.VerifierInfo)
	}
	res, err := e.v.VerifyResponse(e.ctx, tx.ID, e.zkToken(tx), tx.Object)
	if err != nil || !res.Valid || res.RequestID != tx.ID || res.ClientID != tx.Request.Scope {
		t.Fatalf("valid answer: %+v %v", res, err)
	}
	if res.Pseudonym != e.adult.Pseudonym(t, tx.Request.Scope) {
		t.Fatal("pseudonym is not the client_id's")
	}
	// A scope other than the client_id is refused.
	if _, err := e.v.NewPlatformRequest(e.ctx, verifier.Policy{Scope: "platform-b"}, pl); !errors.Is(err, verifier.ErrPolicy) {
		t.Fatalf("foreign scope: %v", err)
	}
	// A response URI off the domain is refused.
	bad := *pl
	bad.ResponseURI = "https://platform-b.example/openid4vp/response"
	if _, err := e.v.NewPlatformRequest(e.ctx, verifier.Policy{}, &bad); !errors.Is(err, verifier.ErrPlatform) {
		t.Fatalf("response URI off the domain: %v", err)
	}
}

// TestRecordedTransaction: what a replica reads of a transaction another
// made: its request object while undecided, nothing after; its verdict
// only with the result token derived from the platform's ResultSecret.
func TestRecordedTransaction(t *testing.T) {
	e := setup(t, nil)
	pl := platformFor(t, "platform-a.example")
	pl.ResultSecret = []byte("result secret of platform a 0123")
	tx := e.transaction(pl, verifier.Policy{AgeOver: intp(18)})
	got, err := e.v.RecordedTransaction(e.ctx, tx.ID)
	if err != nil || got.RequestObject != tx.RequestObject || got.Object.State != tx.ID || got.Object.Nonce != tx.Object.Nonce || got.Request.Nonce != tx.Request.Nonce {
		t.Fatalf("recorded: %+v %v", got, err)
	}
	token := verifier.PlatformResultToken(pl.ResultSecret, tx.ID)
	if _, err := e.v.Result(e.ctx, tx.ID, token); !errors.Is(err, verifier.ErrNoResult) {
		t.Fatalf("result before the answer: %v", err)
	}
	if res, err := e.v.VerifyResponse(e.ctx, tx.ID, e.zkToken(got), got.Object); err != nil || !res.Valid {
		t.Fatalf("answer checked against the recorded object: %+v %v", res, err)
	}
	if _, err := e.v.RecordedTransaction(e.ctx, tx.ID); !errors.Is(err, verifier.ErrUnknownRequest) {
		t.Fatalf("recorded after the answer: %v", err)
	}
	if res, err := e.v.Result(e.ctx, tx.ID, token); err != nil || !res.Valid {
		t.Fatalf("result: %+v %v", res, err)
	}
	for name, tok := range map[string]string{
		"another secret":        verifier.PlatformResultToken([]byte("result secret of platform b 0123"), tx.ID),
		"another transaction's": verifier.PlatformResultToken(pl.ResultSecret, tx.ID+"x"),
	} {
		if _, err := e.v.Result(e.ctx, tx.ID, tok); !errors.Is(err, verifier.ErrNoResult) {
			t.Errorf("result with %s token: %v", name, err)
		}
	}
	// Without a ResultSecret no token reports the verdict.
	pl.ResultSecret = nil
	tx = e.transaction(pl, verifier.Policy{})
	if _, err := e.v.Decline(e.ctx, tx.ID, "access_denied"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Result(e.ctx, tx.ID, verifier.PlatformResultToken(nil, tx.ID)); !errors.Is(err, verifier.ErrNoResult) {
		t.Errorf("result of a transaction without a result key: %v", err)
	}
	// A request that is not a platform's has no transaction.
	req, err := e.v.NewRequest(e.ctx, verifier.Policy{Scope: "platform-a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.RecordedTransaction(e.ctx, req.ID); !errors.Is(err, verifier.ErrUnknownRequest) {
		t.Errorf("a plain request as a transaction: %v", err)
	}
}

// TestResponseWithAnotherTransactionsState: the attack of issue 11 — a
// holder refused by the platform's age_over 18 request answers a
// policy-free request and posts that answer with the platform's state.
func TestResponseWithAnotherTransactionsState(t *testing.T) {
	e := setup(t, nil)
	pl := platformFor(t, "platform-a.example")
	platformTx := e.transaction(pl, verifier.Policy{AgeOver: intp(18)})
	free := e.transaction(pl, verifier.Policy{})
	res, err := e.v.VerifyResponse(e.ctx, platformTx.ID, e.zkToken(free), platformTx.Object)
	if err != nil || res.Valid || res.RequestID != platformTx.ID || res.Reasons[0] != verifier.ReasonProof || res.Predicates["age_over_18"] {
		t.Fatalf("answer of another transaction: %+v %v", res, err)
	}
	// The state must be the expected object's.
	other := e.transaction(pl, verifier.Policy{AgeOver: intp(18)})
	res, _ = e.v.VerifyResponse(e.ctx, other.ID, e.zkToken(other), free.Object)
	if res.Valid || res.Reasons[0] != verifier.ReasonOtherRequest {
		t.Fatalf("state of another object: %+v", res)
	}
	// The recorded transaction must be the one the object carries.
	forged := *other.Object
	forged.Nonce = free.Object.Nonce
	res, _ = e.v.VerifyResponse(e.ctx, other.ID, e.zkToken(other), &forged)
	if res.Valid || res.Reasons[0] != verifier.ReasonRequestMismatch {
		t.Fatalf("object differing from the record: %+v", res)
	}
	// An unknown state.
	res, _ = e.v.VerifyResponse(e.ctx, "nope", e.zkToken(other), nil)
	if res.Valid || res.Reasons[0] != verifier.ReasonUnknownNonce {
		t.Fatalf("unknown state: %+v", res)
	}
	// A malformed vp_token.
	fresh := e.transaction(pl, verifier.Policy{AgeOver: intp(18)})
	res, _ = e.v.VerifyResponse(e.ctx, fresh.ID, []byte(`{"yinzheng_sd_jwt":["x"]}`), fresh.Object)
	if res.Valid || res.Reasons[0] != verifier.ReasonMalformed {
		t.Fatalf("vp_token for another query: %+v", res)
	}
	// It is the transaction's answer: consumed, not answered again.
	if _, err := e.v.RecordedTransaction(e.ctx, fresh.ID); !errors.Is(err, verifier.ErrUnknownRequest) {
		t.Fatalf("transaction after a malformed answer: %v", err)
	}
	if res, _ = e.v.VerifyResponse(e.ctx, fresh.ID, e.zkToken(fresh), fresh.Object); res.Valid || res.Reasons[0] != verifier.ReasonUnknownNonce {
		t.Fatalf("a second answer after a malformed one: %+v", res)
	}
	// The valid flow follows.
	ok := e.transaction(pl, verifier.Policy{AgeOver: intp(18)})
	if res, err := e.v.VerifyResponse(e.ctx, ok.ID, e.zkToken(ok), ok.Object); err != nil || !res.Valid {
		t.Fatalf("valid answer after the refusals: %+v %v", res, err)
	}
	// A declined transaction is consumed.
	d := e.transaction(pl, verifier.Policy{AgeOver: intp(18)})
	if res, err := e.v.Decline(e.ctx, d.ID, wire.ErrorAccessDenied); err != nil || res.Valid || res.Reasons[0] != verifier.ReasonDeclined || res.WalletError != "access_denied" {
		t.Fatalf("decline: %+v %v", res, err)
	}
	if res, _ := e.v.VerifyResponse(e.ctx, d.ID, e.zkToken(d), d.Object); res.Valid {
		t.Fatal("a declined transaction was answered afterwards")
	}
}

// TestTransactionSDJWT: the KB-JWT audience is the client_id.
func TestTransactionSDJWT(t *testing.T) {
	e := setup(t, nil)
	pl := platformFor(t, "platform-a.example")
	tx := e.transaction(pl, verifier.Policy{AgeOver: intp(18), SDJWTClaims: []string{schemas.ClaimAgeOver18}})
	p := e.adult.Present(t, tx.Request, nil, pl.ClientID(), tx.Object.Nonce, true, base)
	tok, _ := wire.NewVPToken(p)
	if res, err := e.v.VerifyResponse(e.ctx, tx.ID, tok, tx.Object); err != nil || !res.Valid {
		t.Fatalf("valid SD-JWT: %+v %v", res, err)
	}
	tx = e.transaction(pl, verifier.Policy{AgeOver: intp(18), SDJWTClaims: []string{schemas.ClaimAgeOver18}})
	p = e.adult.Present(t, tx.Request, nil, "platform-a.example", tx.Object.Nonce, true, base)
	tok, _ = wire.NewVPToken(p)
	if res, _ := e.v.VerifyResponse(e.ctx, tx.ID, tok, tx.Object); res.Valid || res.Reasons[0] != verifier.ReasonWrongScope {
		t.Fatalf("KB-JWT audience without the prefix: %+v", res)
	}
}

// BenchmarkNewPlatformRequest measures request creation (record, request
// object, SM2 signature) and reports the request object's size.
func BenchmarkNewPlatformRequest(b *testing.B) {
	iss := verifiertest.NewIssuer(b, testDepth, time.Now())
	iss.Publish(b, time.Now())
	v, err := verifier.New(verifier.Options{Dir: b.TempDir(), Source: iss.Source(), Trust: iss.Trust(), AllowDevelopmentKeys: true})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	pl := platformFor(b, "platform-a.example")
	ctx := context.Background()
	var size int
	for b.Loop() {
		tx, err := v.NewPlatformRequest(ctx, verifier.Policy{AgeOver: intp(18)}, pl)
		if err != nil {
			b.Fatal(err)
		}
		size = len(tx.RequestObject)
	}
	b.ReportMetric(float64(size), "request-object-bytes")
}

// TestDeclineErrorCode: a wallet's error response carries an OAuth error
// code (RFC 6749 §4.1.2.1: printable ASCII without '"' and '\'), which
// the verdict reports. Anything else (a megabyte of text, a line break, a
// quote, non-ASCII, nothing) is a malformed answer: still the
// transaction's one answer, but the wallet's text is neither recorded in
// the shared store nor shown to the platform's backend as its verdict.
func TestDeclineErrorCode(t *testing.T) {
	e := setup(t, nil)
	pl := platformFor(t, "platform-a.example")
	pl.ResultSecret = []byte("decline test result secret")
	for _, code := range []string{wire.ErrorAccessDenied, wire.ErrorWalletUnavailable, "x-vendor code!"} {
		tx := e.transaction(pl, verifier.Policy{AgeOver: intp(18)})
		res, err := e.v.Decline(e.ctx, tx.ID, code)
		if err != nil || res.Reasons[0] != verifier.ReasonDeclined || res.WalletError != code {
			t.Fatalf("code %q: %+v %v", code, res, err)
		}
	}
	for name, code := range map[string]string{
		"a megabyte":   strings.Repeat("a", 1<<20),
		"65 bytes":     strings.Repeat("a", 65),
		"line break":   "access_denied\nvalid: true",
		"quote":        `access_denied"`,
		"backslash":    `access\denied`,
		"non-ASCII":    "拒绝",
		"empty":        "",
		"control char": "access_denied\x00",
	} {
		tx := e.transaction(pl, verifier.Policy{AgeOver: intp(18)})
		res, err := e.v.Decline(e.ctx, tx.ID, code)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantReason(t, res, verifier.ReasonMalformed)
		if res.WalletError != "" || res.RequestID != tx.ID {
			t.Fatalf("%s: %+v", name, res)
		}
		rec, err := e.v.Result(e.ctx, tx.ID, verifier.PlatformResultToken(pl.ResultSecret, tx.ID))
		if err != nil || rec.WalletError != "" || rec.Reasons[0] != verifier.ReasonMalformed {
			t.Fatalf("%s: recorded %+v %v", name, rec, err)
		}
		if _, err := e.v.RecordedTransaction(e.ctx, tx.ID); !errors.Is(err, verifier.ErrUnknownRequest) {
			t.Fatalf("%s: transaction still open: %v", name, err)
		}
	}
}
