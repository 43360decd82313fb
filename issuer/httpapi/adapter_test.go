package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/internal/seal"
	"github.com/yinzheng-id/yinzheng/issuer"
	"github.com/yinzheng-id/yinzheng/jose"
)

// TestAdapterRefusesAnotherDevice: through the service, a second issuance
// to a person on record under another holder commitment is a conflict (409)
// the operator settles, not an internal error; under the same commitment
// (a restored wallet) it is issued.
func TestAdapterRefusesAnotherDevice(t *testing.T) {
	dir := t.TempDir() + "/issuer"
	pass := []byte("adapter test")
	if err := issuer.Init(dir, pass, issuer.Options{SkipCircuitKeys: true, KDF: seal.Params{Time: 1, Memory: 64, Threads: 1}, StatusListEntries: 1 << 12}); err != nil {
		t.Fatal(err)
	}
	iss, err := issuer.Open(dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	a := FromIssuer(iss)
	subject := []byte(`{"doc_type":"passport","doc_number":"E12345678","name":"张三","birth_date":"1990-03-07","region":"110101","level":3}`)
	request := func(secret fr.Element) []byte {
		k, err := jose.GenerateKey(jose.SuiteGM, nil)
		if err != nil {
			t.Fatal(err)
		}
		jwk, _ := k.Public().MarshalJSON()
		data, _ := json.Marshal(issuer.HolderRequest{Version: 1, HolderCommitment: zkhash.FormatElement(zkhash.HolderCommitment(secret)), SDJWTKeys: []json.RawMessage{jwk}})
		return data
	}
	var s1, s2 fr.Element
	s1.SetRandom()
	s2.SetRandom()
	ctx := context.Background()
	if _, err := a.Issue(ctx, subject, request(s1)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Issue(ctx, subject, request(s1)); err != nil {
		t.Fatalf("re-issuance under the same commitment: %v", err)
	}
	_, err = a.Issue(ctx, subject, request(s2))
	var he *httpserv.Error
	if !errors.As(err, &he) || he.Status != http.StatusConflict {
		t.Fatalf("another commitment: %v", err)
	}
}
