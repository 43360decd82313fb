package issuer

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/seal"
	"github.com/yinzheng-id/yinzheng/jose"
)

// testNow is the tests' clock: 15 June 2026, 10:00 in Beijing.
var testNow = time.Date(2026, 6, 15, 10, 0, 0, 0, chinaTime)

var fastKDF = seal.Params{Time: 1, Memory: 64, Threads: 1}

var testPass = []byte("issuer test passphrase")

// residentID returns a valid resident ID number for a region, birth date
// (YYYYMMDD) and sequence number.
func residentID(region, birth string, seq int) string {
	base := fmt.Sprintf("%s%s%03d", region, birth, seq)
	return base + string(residentIDCheck(base))
}

func adultSubject() *Subject {
	return &Subject{
		DocType:   "resident_id",
		DocNumber: residentID("110101", "19900307", 123),
		Name:      "张三",
		BirthDate: "1990-03-07",
		Region:    "110101",
		Level:     3,
	}
}

// people counts the subjects otherAdult made.
var people atomic.Int64

// otherAdult returns an adult with a document number no other call gives:
// a new person each time (re-issuing to one person revokes the earlier
// credential).
func otherAdult() *Subject {
	s := adultSubject()
	s.DocNumber = residentID("110101", "19900307", 500+int(people.Add(1)%400))
	return s
}

func guardianRecordFor(t time.Time) *Guardian {
	return &Guardian{
		DocType:   "resident_id",
		DocNumber: residentID("110101", "19800101", 456),
		Consent:   true,
		Time:      t.Add(-time.Hour).Format(time.RFC3339),
	}
}

// minorSubject is a child born on birth (YYYY-MM-DD) with a guardian record.
func minorSubject(birth string) *Subject {
	s := adultSubject()
	s.Name = "李小明"
	s.BirthDate = birth
	s.DocNumber = residentID("310101", birth[0:4]+birth[5:7]+birth[8:10], 789)
	s.Guardian = guardianRecordFor(testNow)
	return s
}

type testHolder struct {
	secret fr.Element
	keys   []*jose.PrivateKey
	req    *HolderRequest
}

func newHolder(t testing.TB, copies int) *testHolder {
	t.Helper()
	h := &testHolder{}
	if _, err := h.secret.SetRandom(); err != nil {
		t.Fatal(err)
	}
	h.req = &HolderRequest{Version: 1, HolderCommitment: zkhash.FormatElement(zkhash.HolderCommitment(h.secret))}
	for i := 0; i < copies; i++ {
		k, err := jose.GenerateKey(jose.SuiteGM, nil)
		if err != nil {
			t.Fatal(err)
		}
		jwk, err := k.Public().MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		h.keys = append(h.keys, k)
		h.req.SDJWTKeys = append(h.req.SDJWTKeys, json.RawMessage(jwk))
	}
	return h
}

// testStatusEntries is the status list size of the tests' issuers.
const testStatusEntries = 1 << 14

// newTestIssuer initialises an issuer in a temporary directory without
// circuit keys and opens it at testNow.
func newTestIssuer(t testing.TB, suite jose.Suite) (*Issuer, string) {
	t.Helper()
	dir := t.TempDir() + "/issuer"
	clock := func() time.Time { return testNow }
	// A small status list keeps each rewrite of it cheap.
	if err := Init(dir, testPass, Options{Suite: suite, SkipCircuitKeys: true, KDF: fastKDF, Now: clock, StatusListEntries: testStatusEntries}); err != nil {
		t.Fatal(err)
	}
	iss, err := open(dir, testPass, clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iss.Close() })
	return iss, dir
}
