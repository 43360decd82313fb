package jose

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

func TestJWKRoundTrip(t *testing.T) {
	for _, s := range []Suite{SuiteGM, SuiteIntl} {
		t.Run(string(s), func(t *testing.T) {
			k := mustKey(t, s)
			if k.Suite() != s || k.Public().Suite() != s {
				t.Fatalf("suite = %s", k.Suite())
			}
			priv, err := json.Marshal(k)
			if err != nil {
				t.Fatal(err)
			}
			k2, err := ParsePrivateJWK(priv)
			if err != nil {
				t.Fatalf("ParsePrivateJWK(%s): %v", priv, err)
			}
			if !k2.Public().Equal(k.Public()) {
				t.Error("private JWK round trip changed the key")
			}
			// The re-parsed key signs tokens the original verifies.
			if _, _, err := Verify(mustSign(t, k2, []byte("x")), k.Public()); err != nil {
				t.Errorf("signature after round trip: %v", err)
			}
			pub, err := json.Marshal(k.Public())
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(pub), `"d"`) {
				t.Errorf("public JWK has d: %s", pub)
			}
			wantCrv := map[Suite]string{SuiteGM: "SM2", SuiteIntl: "P-256"}[s]
			var m map[string]string
			if err := json.Unmarshal(pub, &m); err != nil || m["kty"] != "EC" || m["crv"] != wantCrv || len(m) != 4 {
				t.Errorf("public JWK = %s", pub)
			}
			p2, err := ParsePublicJWK(pub)
			if err != nil || !p2.Equal(k.Public()) {
				t.Errorf("ParsePublicJWK round trip: %v", err)
			}
			// Optional members that agree with the key are accepted.
			extra := strings.TrimSuffix(string(pub), "}") + fmt.Sprintf(`,"kid":"k","use":"sig","alg":%q}`, k.Alg())
			if _, err := ParsePublicJWK([]byte(extra)); err != nil {
				t.Errorf("JWK with kid, use, alg: %v", err)
			}
		})
	}
	a, b := mustKey(t, SuiteGM).Public(), mustKey(t, SuiteGM).Public()
	if a.Equal(b) || !a.Equal(a) || a.Equal(nil) {
		t.Error("Equal is wrong")
	}
}

// jwkWith returns the JWK of k with member name set to value (a JSON text),
// or removed when value is "".
func jwkWith(t testing.TB, k *PrivateKey, private bool, name, value string) []byte {
	t.Helper()
	var raw []byte
	var err error
	if private {
		raw, err = json.Marshal(k)
	} else {
		raw, err = json.Marshal(k.Public())
	}
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if value == "" {
		delete(m, name)
	} else {
		m[name] = json.RawMessage(value)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func b64JSON(b []byte) string { return `"` + encodeB64(b) + `"` }

func TestJWKRejects(t *testing.T) {
	for _, s := range []Suite{SuiteGM, SuiteIntl} {
		k := mustKey(t, s)
		other := mustKey(t, s)
		params, _ := paramsOf(s)
		x := k.Public().x()
		y := k.Public().y()
		yOff := []byte(string(y))
		yOff[31] ^= 1
		zero := make([]byte, 32)
		orderBytes := params.order.FillBytes(make([]byte, 32))
		d, _ := k.scalar()
		otherD, _ := other.scalar()
		wrongCrv := map[Suite]string{SuiteGM: `"P-256"`, SuiteIntl: `"SM2"`}[s]

		pubCases := []struct {
			name string
			jwk  []byte
			want error
		}{
			{"kty RSA", jwkWith(t, k, false, "kty", `"RSA"`), ErrKey},
			{"kty OKP", jwkWith(t, k, false, "kty", `"OKP"`), ErrKey},
			{"kty missing", jwkWith(t, k, false, "kty", ""), ErrKey},
			{"kty not string", jwkWith(t, k, false, "kty", `1`), ErrMalformed},
			{"crv P-384", jwkWith(t, k, false, "crv", `"P-384"`), ErrKey},
			{"crv lower case", jwkWith(t, k, false, "crv", strings.ToLower(`"`+suiteCurveName(s)+`"`)), ErrKey},
			{"crv missing", jwkWith(t, k, false, "crv", ""), ErrKey},
			{"other curve", jwkWith(t, k, false, "crv", wrongCrv), ErrKey},
			{"x missing", jwkWith(t, k, false, "x", ""), ErrKey},
			{"y missing", jwkWith(t, k, false, "y", ""), ErrKey},
			{"x 31 bytes", jwkWith(t, k, false, "x", b64JSON(x[1:])), ErrKey},
			{"x 33 bytes", jwkWith(t, k, false, "x", b64JSON(append([]byte{0}, x...))), ErrKey},
			{"y empty", jwkWith(t, k, false, "y", `""`), ErrKey},
			{"x padded", jwkWith(t, k, false, "x", `"`+encodeB64(x)+`="`), ErrMalformed},
			{"x standard base64", jwkWith(t, k, false, "x", `"`+strings.Repeat("+", 43)+`"`), ErrMalformed},
			{"x not string", jwkWith(t, k, false, "x", `[1]`), ErrMalformed},
			{"not on curve", jwkWith(t, k, false, "y", b64JSON(yOff)), ErrKey},
			{"identity (0,0)", jwkWith(t, jwkWithKey(t, k), false, "x", b64JSON(zero)), ErrKey},
			{"d in public JWK", jwkWith(t, k, false, "d", b64JSON(d)), ErrKey},
			{"alg mismatch", jwkWith(t, k, false, "alg", map[Suite]string{SuiteGM: `"ES256"`, SuiteIntl: `"SM2"`}[s]), ErrKey},
			{"use enc", jwkWith(t, k, false, "use", `"enc"`), ErrKey},
			{"not an object", []byte(`["EC"]`), ErrMalformed},
			{"duplicate member", []byte(strings.Replace(string(jwkWith(t, k, false, "kty", "")), `{`, `{"kty":"EC","kty":"EC",`, 1)), ErrMalformed},
			{"trailing data", append(jwkWith(t, k, false, "kid", `"a"`), '1'), ErrMalformed},
			{"too large", jwkWith(t, k, false, "kid", `"`+strings.Repeat("a", maxJWKSize)+`"`), ErrTooLarge},
		}
		for _, c := range pubCases {
			t.Run(string(s)+"/public/"+c.name, func(t *testing.T) {
				_, err := ParsePublicJWK(c.jwk)
				if !errors.Is(err, c.want) {
					t.Fatalf("ParsePublicJWK(%s): err = %v, want %v", c.jwk, err, c.want)
				}
				var pk PublicKey
				if err := json.Unmarshal(c.jwk, &pk); err == nil {
					t.Fatal("UnmarshalJSON accepted it")
				}
			})
		}

		privCases := []struct {
			name string
			jwk  []byte
			want error
		}{
			{"d missing", jwkWith(t, k, true, "d", ""), ErrKey},
			{"d zero", jwkWith(t, k, true, "d", b64JSON(zero)), ErrKey},
			{"d = n", jwkWith(t, k, true, "d", b64JSON(orderBytes)), ErrKey},
			{"d = 2^256-1", jwkWith(t, k, true, "d", b64JSON([]byte(strings.Repeat("\xff", 32)))), ErrKey},
			{"d 31 bytes", jwkWith(t, k, true, "d", b64JSON(d[1:])), ErrKey},
			{"d 33 bytes", jwkWith(t, k, true, "d", b64JSON(append([]byte{0}, d...))), ErrKey},
			{"d of another key", jwkWith(t, k, true, "d", b64JSON(otherD)), ErrKey},
			{"d padded", jwkWith(t, k, true, "d", `"`+encodeB64(d)+`="`), ErrMalformed},
			{"d not string", jwkWith(t, k, true, "d", `null`), ErrMalformed},
			{"x of another key", jwkWith(t, k, true, "x", b64JSON(other.Public().x())), ErrKey},
			{"kty RSA", jwkWith(t, k, true, "kty", `"RSA"`), ErrKey},
		}
		for _, c := range privCases {
			t.Run(string(s)+"/private/"+c.name, func(t *testing.T) {
				_, err := ParsePrivateJWK(c.jwk)
				if !errors.Is(err, c.want) {
					t.Fatalf("err = %v, want %v", err, c.want)
				}
				if strings.Contains(err.Error(), encodeB64(d)) {
					t.Fatal("error message contains the private scalar")
				}
			})
		}
	}
	// SM2 allows d in [1, n-2]: n-1 is refused (GB/T 32918.1).
	k := mustKey(t, SuiteGM)
	nMinus1 := new(big.Int).Sub(sm2.P256().Params().N, big.NewInt(1)).FillBytes(make([]byte, 32))
	if _, err := ParsePrivateJWK(jwkWith(t, k, true, "d", b64JSON(nMinus1))); !errors.Is(err, ErrKey) {
		t.Errorf("SM2 d = n-1: err = %v", err)
	}
}

// jwkWithKey returns k with y replaced by zero too, so that together with a
// zero x the JWK encodes (0, 0), the conventional stand-in for the identity.
func jwkWithKey(t testing.TB, k *PrivateKey) *PrivateKey {
	t.Helper()
	pub := *k.pub
	pub.point = append([]byte{4}, make([]byte, 64)...)
	copy(pub.point[1:33], k.pub.x())
	return &PrivateKey{pub: &pub, p256: k.p256, sm2: k.sm2}
}

func TestPrivateKeyRedacted(t *testing.T) {
	for _, s := range []Suite{SuiteGM, SuiteIntl} {
		k := mustKey(t, s)
		d, err := k.scalar()
		if err != nil {
			t.Fatal(err)
		}
		secrets := []string{encodeB64(d), fmt.Sprintf("%x", d), fmt.Sprintf("%X", d), new(big.Int).SetBytes(d).String()}
		type wrapper struct{ Key PrivateKey }
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			for _, v := range []any{k, *k, wrapper{*k}, &wrapper{*k}, []any{k}} {
				out := fmt.Sprintf(verb, v)
				for _, sec := range secrets {
					if strings.Contains(out, sec) {
						t.Fatalf("%s of %T reveals the private scalar: %s", verb, v, out)
					}
				}
			}
		}
		if got := k.String(); !strings.Contains(got, "redacted") || !strings.Contains(got, k.Public().KeyID()) {
			t.Errorf("String() = %q", got)
		}
	}
}

func TestZeroKeys(t *testing.T) {
	// Zero and nil keys give errors, never panics, and are never usable.
	var zp PrivateKey
	var zk PublicKey
	var np *PrivateKey
	var nk *PublicKey
	if zp.Suite() != "" || zp.Alg() != "" || np.Suite() != "" || np.Alg() != "" || np.Public() != nil {
		t.Error("zero private key reports a suite")
	}
	if zk.Alg() != "" || nk.Alg() != "" || zk.Equal(&zk) || zk.KeyID() != "" {
		t.Error("zero public key reports an algorithm, equals itself or has a key id")
	}
	if _, err := zp.SignRaw([]byte("x")); !errors.Is(err, ErrKey) {
		t.Errorf("SignRaw: %v", err)
	}
	if _, err := Sign(&zp, nil, nil); !errors.Is(err, ErrKey) {
		t.Errorf("Sign: %v", err)
	}
	if err := zk.VerifyRaw([]byte("x"), make([]byte, 64)); !errors.Is(err, ErrKey) {
		t.Errorf("VerifyRaw: %v", err)
	}
	if _, _, err := Verify(rfc7515A3JWS, &zk); !errors.Is(err, ErrKey) {
		t.Errorf("Verify: %v", err)
	}
	if _, err := json.Marshal(&zk); err == nil {
		t.Error("MarshalJSON of a zero public key succeeded")
	}
	if _, err := json.Marshal(&zp); err == nil {
		t.Error("MarshalJSON of a zero private key succeeded")
	}
	if _, err := zp.MarshalPKCS8PEM(); !errors.Is(err, ErrKey) {
		t.Errorf("MarshalPKCS8PEM: %v", err)
	}
	if _, err := zk.MarshalPKIXPEM(); !errors.Is(err, ErrKey) {
		t.Errorf("MarshalPKIXPEM: %v", err)
	}
	if _, err := GenerateKey("rsa", nil); !errors.Is(err, ErrKey) {
		t.Errorf("GenerateKey(rsa): %v", err)
	}
	if err := json.Unmarshal([]byte(`null`), &zk); err == nil {
		t.Error("UnmarshalJSON(null) succeeded")
	}
	_ = fmt.Sprint(zp, np)
}
