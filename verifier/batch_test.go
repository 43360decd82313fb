package verifier_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"

	bn254 "github.com/consensys/gnark-crypto/ecc/bn254"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

// zkDoc encodes a zero-knowledge presentation of req with the given proof.
func (e *env) zkDoc(req *verifier.Request, epoch uint64, proof *circuits.Proof, pseudonym fr.Element) []byte {
	e.t.Helper()
	raw, err := proof.MarshalBinary()
	if err != nil {
		e.t.Fatal(err)
	}
	return e.rawDoc(req, epoch, raw, zkhash.FormatElement(pseudonym))
}

func (e *env) rawDoc(req *verifier.Request, epoch uint64, raw []byte, pseudonym string) []byte {
	return verifiertest.JSON(e.t, &verifier.Presentation{Version: verifier.FormatVersion, Type: verifier.TypeZK,
		RequestID: req.ID, CircuitID: e.iss.Keys.Manifest.CircuitID, Epoch: &epoch, Pseudonym: pseudonym,
		Proof: base64.RawURLEncoding.EncodeToString(raw)})
}

// TestVerifyBatchNeverAcceptsABadProof puts one bad presentation in a
// batch with a good one, for every way a proof can fail to match: each
// public input of the circuit swapped (the proof proves a statement that
// differs from the request's in that input alone), each proof point
// swapped with the good proof's, and a proof of the same statement made
// with another setup of the circuit. The bad one is refused ("proof does
// not verify") and consumed; the good one is accepted.
func TestVerifyBatchNeverAcceptsABadProof(t *testing.T) {
	e := setup(t, func(o *verifier.Options) { o.RootGrace = time.Hour })
	// A second epoch with another root, both accepted by new requests.
	e.iss.Issue(t, verifiertest.Adult(schemas.Date{Year: 1990, Month: time.May, Day: 5}), base)
	older := e.epoch
	e.epoch = e.iss.Publish(t, base).Epoch
	e.clk.add(verifier.DefaultCacheTTL + time.Second) // see the new latest root

	other := &circuits.Keys{Manifest: e.iss.Keys.Manifest, Compiled: e.iss.Keys.Compiled}
	var err error
	if other.PK, other.VK, err = groth16.Setup(e.iss.Keys.Compiled.CS); err != nil {
		t.Fatal(err)
	}
	anyNonce, err := schemas.NonceElement(make([]byte, verifier.NonceSize))
	if err != nil {
		t.Fatal(err)
	}
	otherScope, err := schemas.ScopeElement("platform-b")
	if err != nil {
		t.Fatal(err)
	}
	swapped := func(edit func(*circuits.Statement)) func(req *verifier.Request, good []byte) []byte {
		return func(req *verifier.Request, _ []byte) []byte {
			s := verifiertest.Statement(t, req, e.rootOf(e.epoch))
			edit(s)
			proof, pseudonym := e.adult.ProveStatement(t, s)
			return e.zkDoc(req, e.epoch, proof, pseudonym)
		}
	}
	point := func(lo, hi int) func(req *verifier.Request, good []byte) []byte {
		return func(req *verifier.Request, good []byte) []byte {
			s := verifiertest.Statement(t, req, e.rootOf(e.epoch))
			proof, pseudonym := e.adult.ProveStatement(t, s)
			raw, err := proof.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			copy(raw[lo:hi], good[lo:hi])
			return e.rawDoc(req, e.epoch, raw, zkhash.FormatElement(pseudonym))
		}
	}
	g1, g2 := bn254.SizeOfG1AffineCompressed, bn254.SizeOfG2AffineCompressed
	cases := map[string]func(req *verifier.Request, good []byte) []byte{
		"root": func(req *verifier.Request, _ []byte) []byte {
			// Proved against the latest root, presented as the older
			// epoch: the verifier takes that epoch's root.
			s := verifiertest.Statement(t, req, e.rootOf(e.epoch))
			proof, pseudonym := e.adult.ProveStatement(t, s)
			return e.zkDoc(req, older, proof, pseudonym)
		},
		"today":       swapped(func(s *circuits.Statement) { s.Today++ }),
		"born_after":  swapped(func(s *circuits.Statement) { s.BornAfter = 1 }),
		"born_before": swapped(func(s *circuits.Statement) { s.BornBefore = schemas.MaxDateCode }),
		"min_level":   swapped(func(s *circuits.Statement) { s.MinLevel = 1 }),
		"flags": func(req *verifier.Request, _ []byte) []byte {
			// The minor has the acknowledgement flag; the request asks
			// for no flag.
			s := verifiertest.Statement(t, req, e.rootOf(e.epoch))
			s.BornBefore = schemas.MaxDateCode
			s.RequiredFlags = circuits.FlagGuardianAcknowledgement
			proof, pseudonym := e.minor.ProveStatement(t, s)
			return e.zkDoc(req, e.epoch, proof, pseudonym)
		},
		"scope": swapped(func(s *circuits.Statement) { s.Scope = otherScope }),
		"nonce": swapped(func(s *circuits.Statement) { s.Nonce = anyNonce }),
		"pseudonym": func(req *verifier.Request, _ []byte) []byte {
			s := verifiertest.Statement(t, req, e.rootOf(e.epoch))
			proof, _ := e.adult.ProveStatement(t, s)
			raw, err := proof.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			return e.rawDoc(req, e.epoch, raw, e.minor.Pseudonym(t, req.Scope))
		},
		"point A": point(1, 1+g1),
		"point B": point(1+g1, 1+g1+g2),
		"point C": point(1+g1+g2, 1+2*g1+g2),
		"other circuit": func(req *verifier.Request, _ []byte) []byte {
			s := verifiertest.Statement(t, req, e.rootOf(e.epoch))
			proof, pseudonym := e.adult.ProveStatementWith(t, other, s)
			if err := other.Verify(s, pseudonym, proof); err != nil {
				t.Fatalf("the other setup's proof does not verify under its own keys: %v", err)
			}
			return e.zkDoc(req, e.epoch, proof, pseudonym)
		},
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			policy := e.policy
			if name == "flags" {
				policy = verifier.Policy{Scope: "platform-a"}
			}
			goodReq, badReq := e.request(e.policy), e.request(policy)
			goodPres := e.adult.Prove(t, goodReq, e.epoch)
			goodRaw, err := base64.RawURLEncoding.DecodeString(goodPres.Proof)
			if err != nil {
				t.Fatal(err)
			}
			badDoc := bad(badReq, goodRaw)
			out := e.v.VerifyBatch(e.ctx, []verifier.BatchItem{
				{Presentation: verifiertest.JSON(t, goodPres)}, {Presentation: badDoc}})
			if len(out) != 2 {
				t.Fatalf("%d outcomes for 2 presentations", len(out))
			}
			if out[0].Err != nil || !out[0].Result.Valid {
				t.Fatalf("the good presentation: %+v %v", out[0].Result, out[0].Err)
			}
			if out[1].Err != nil {
				t.Fatal(out[1].Err)
			}
			wantReason(t, out[1].Result, verifier.ReasonProof)
			// Refused is decided: the request is used up.
			wantReason(t, e.verify(badDoc, nil), verifier.ReasonUnknownNonce)
		})
	}
}

// rootOf returns the accumulator root of a published epoch.
func (e *env) rootOf(epoch uint64) fr.Element {
	e.t.Helper()
	data := e.iss.ReadFile(e.t, publication.RootName(epoch))
	st, err := revocation.VerifyRootStatement(strings.TrimSpace(string(data)), e.iss.Key.Public())
	if err != nil {
		e.t.Fatal(err)
	}
	return st.Root
}

// TestVerifyBatchMixed: a batch of different presentations gets, for
// each, what Verify would say; the same presentation twice in one batch
// is accepted once.
func TestVerifyBatchMixed(t *testing.T) {
	e := setup(t, nil)
	zkReq := e.request(e.policy)
	sdReq := e.request(verifier.Policy{Scope: "platform-a", AgeOver: intp(18), SDJWTClaims: []string{schemas.ClaimAgeOver18}})
	zk := verifiertest.JSON(t, e.adult.Prove(t, zkReq, e.epoch))
	sd := verifiertest.JSON(t, e.adult.Present(t, sdReq, nil, "", "", true, base))
	unknown := verifiertest.JSON(t, &verifier.Presentation{Version: verifier.FormatVersion, Type: verifier.TypeSDJWT,
		RequestID: "never-made", SDJWT: "x~"})
	out := e.v.VerifyBatch(e.ctx, []verifier.BatchItem{
		{Presentation: zk}, {Presentation: zk}, {Presentation: sd}, {Presentation: []byte("{")},
		{Presentation: unknown}, {Presentation: sd, Expected: zkReq},
	})
	for i, o := range out {
		if o.Err != nil {
			t.Fatalf("outcome %d: %v", i, o.Err)
		}
	}
	valid := 0
	for _, i := range []int{0, 1} {
		if out[i].Result.Valid {
			valid++
		} else {
			wantReason(t, out[i].Result, verifier.ReasonUnknownNonce)
		}
	}
	if valid != 1 {
		t.Fatalf("the same presentation twice in a batch accepted %d times", valid)
	}
	if !out[2].Result.Valid {
		t.Fatalf("SD-JWT in a batch: %+v", out[2].Result)
	}
	wantReason(t, out[3].Result, verifier.ReasonMalformed)
	wantReason(t, out[4].Result, verifier.ReasonUnknownNonce)
	wantReason(t, out[5].Result, verifier.ReasonOtherRequest)
}
