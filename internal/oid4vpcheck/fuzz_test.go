package oid4vpcheck

import (
	"encoding/json"
	"testing"
)

// FuzzCheckers: no input makes a check panic; whatever the input, each
// returns a verdict (nil or an error).
func FuzzCheckers(f *testing.F) {
	f.Add([]byte(validDCQL))
	f.Add([]byte(`{"pid":["` + sdJWT(nil, nil, "") + `"],"zk":[{}],"loose":["a~"]}`))
	f.Add([]byte(`{"redirect_uri":"https://v.example/cb"}`))
	f.Add([]byte(`openid4vp://?client_id=x509_san_dns%3Aa.example&request_uri=https%3A%2F%2Fa.example%2Fr`))
	f.Add([]byte(`eyJhbGciOiJFUzI1NiJ9.e30.c2ln`))
	withSets, without := vpRequest(f, true), vpRequest(f, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = CheckDCQL(json.RawMessage(data))
		_ = withSets.CheckVPToken(data)
		_ = without.CheckVPToken(data)
		_, _ = CheckAnswer(200, "application/json", data)
		_, _ = (&Wallet{}).ParseInvocation(string(data))
		_, _ = (&Wallet{}).CheckRequestObject(string(data), "")
	})
}
