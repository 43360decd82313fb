package jose

import (
	"testing"
)

// benchmarkSuites runs fn for SM2 and ES256 and reports µs/op.
func benchmarkSuites(b *testing.B, fn func(b *testing.B, k *PrivateKey, input []byte)) {
	// A signing input the size of a typical issuer-signed SD-JWT.
	input := make([]byte, 1024)
	for i := range input {
		input[i] = 'a' + byte(i%26)
	}
	for _, c := range []struct {
		name  string
		suite Suite
	}{{"SM2", SuiteGM}, {"ES256", SuiteIntl}} {
		b.Run(c.name, func(b *testing.B) {
			k := mustKey(b, c.suite)
			fn(b, k, input)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N), "µs/op")
		})
	}
}

func BenchmarkSign(b *testing.B) {
	benchmarkSuites(b, func(b *testing.B, k *PrivateKey, input []byte) {
		for b.Loop() {
			if _, err := k.SignRaw(input); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	benchmarkSuites(b, func(b *testing.B, k *PrivateKey, input []byte) {
		sig, err := k.SignRaw(input)
		if err != nil {
			b.Fatal(err)
		}
		pub := k.Public()
		for b.Loop() {
			if err := pub.VerifyRaw(input, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}
