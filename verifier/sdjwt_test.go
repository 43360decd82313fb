package verifier_test

import (
	"encoding/base64"
	"testing"

	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

func sdPolicy() verifier.Policy {
	return verifier.Policy{Scope: "platform-a", AgeOver: intp(18), SDJWTClaims: []string{schemas.ClaimAgeOver18}}
}

func TestSDJWTValid(t *testing.T) {
	e := setup(t, nil)
	req := e.request(sdPolicy())
	if req.SDJWT == nil || len(req.SDJWT.Claims) != 1 || req.Audience != "platform-a" {
		t.Fatalf("request %+v", req)
	}
	res := e.verify(e.adult.Present(t, req, nil, "", "", true, base), req)
	if !res.Valid || !res.Predicates["age_over_18"] || len(res.Claims) != 1 || res.Claims["age_over_18"] != true ||
		res.Pseudonym != "" || res.Epoch != nil {
		t.Fatalf("result %+v", res)
	}
}

func TestSDJWTBirthDateDecidesAge(t *testing.T) {
	e := setup(t, nil)
	p := verifier.Policy{Scope: "s", AgeOver: intp(21), AgeUnder: intp(30), MinLevel: 3,
		SDJWTClaims: []string{schemas.ClaimBirthDate, schemas.ClaimLevel}}
	req := e.request(p)
	res := e.verify(e.adult.Present(t, req, nil, "", "", true, base), nil)
	if !res.Valid || !res.Predicates["age_over_21"] || !res.Predicates["age_under_30"] || !res.Predicates["min_level_3"] {
		t.Fatalf("result %+v", res)
	}
	p.MinLevel = 4
	req = e.request(p)
	res = e.verify(e.adult.Present(t, req, nil, "", "", true, base), nil)
	wantReason(t, res, verifier.ReasonPredicate)
	if res.Predicates["min_level_4"] || !res.Predicates["age_over_21"] {
		t.Fatalf("predicates %v", res.Predicates)
	}
}

func TestSDJWTPredicateFalse(t *testing.T) {
	e := setup(t, nil)
	req := e.request(sdPolicy())
	res := e.verify(e.minor.Present(t, req, nil, "", "", true, base), nil)
	wantReason(t, res, verifier.ReasonPredicate)
	if v, ok := res.Predicates["age_over_18"]; !ok || v {
		t.Fatalf("predicates %v", res.Predicates)
	}
}

func TestSDJWTExtraClaim(t *testing.T) {
	e := setup(t, nil)
	req := e.request(sdPolicy())
	res := e.verify(e.adult.Present(t, req, []string{schemas.ClaimAgeOver18, schemas.ClaimName}, "", "", true, base), nil)
	wantReason(t, res, verifier.ReasonExtraClaim)
	if res.Claims != nil {
		t.Fatalf("claims of a refused presentation: %v", res.Claims)
	}
}

func TestSDJWTMissingClaim(t *testing.T) {
	e := setup(t, nil)
	req := e.request(sdPolicy())
	wantReason(t, e.verify(e.adult.Present(t, req, []string{}, "", "", true, base), nil), verifier.ReasonMissingClaim)
}

func TestSDJWTMissingKeyBinding(t *testing.T) {
	e := setup(t, nil)
	req := e.request(sdPolicy())
	wantReason(t, e.verify(e.adult.Present(t, req, nil, "", "", false, base), nil), verifier.ReasonKeyBindingMissing)
}

func TestSDJWTWrongNonce(t *testing.T) {
	e := setup(t, nil)
	req := e.request(sdPolicy())
	other := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	wantReason(t, e.verify(e.adult.Present(t, req, nil, "", other, true, base), nil), verifier.ReasonWrongNonce)
}

func TestSDJWTWrongScope(t *testing.T) {
	e := setup(t, nil)
	req := e.request(sdPolicy())
	wantReason(t, e.verify(e.adult.Present(t, req, nil, "platform-b", "", true, base), nil), verifier.ReasonWrongScope)
}

func TestSDJWTRevoked(t *testing.T) {
	e := setup(t, nil)
	e.iss.Revoke(t, e.adult.Serial)
	e.iss.Publish(t, base)
	req := e.request(sdPolicy())
	wantReason(t, e.verify(e.adult.Present(t, req, nil, "", "", true, base), nil), verifier.ReasonRevoked)
	// The other holder's credential is still good.
	req = e.request(verifier.Policy{Scope: "s", SDJWTClaims: []string{schemas.ClaimAgeOver14}})
	if res := e.verify(e.minor.Present(t, req, nil, "", "", true, base), nil); !res.Valid {
		t.Fatal(res.Reasons)
	}
}

func TestSDJWTForgedIssuer(t *testing.T) {
	e := setup(t, nil)
	forger := verifiertest.NewIssuer(t, testDepth, base)
	h := forger.Issue(t, verifiertest.Adult(schemas.Date{Year: 1990, Month: 1, Day: 1}), base)
	req := e.request(sdPolicy())
	wantReason(t, e.verify(h.Present(t, req, nil, "", "", true, base), nil), verifier.ReasonIssuerSignature)
}

func TestSDJWTMalformed(t *testing.T) {
	e := setup(t, nil)
	req := e.request(sdPolicy())
	p := e.adult.Present(t, req, nil, "", "", true, base)
	p.SDJWT = "not an sd-jwt"
	wantReason(t, e.verify(p, nil), verifier.ReasonMalformed)
}

func TestSDJWTReplay(t *testing.T) {
	e := setup(t, nil)
	req := e.request(sdPolicy())
	p := e.adult.Present(t, req, nil, "", "", true, base)
	if res := e.verify(p, nil); !res.Valid {
		t.Fatal(res.Reasons)
	}
	wantReason(t, e.verify(p, nil), verifier.ReasonUnknownNonce)
}
