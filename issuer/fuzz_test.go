package issuer

import "testing"

// FuzzSubject feeds arbitrary documents to the subject parser and validator:
// they must refuse cleanly, never panic, and whatever they accept must make
// valid credential attributes. Seeds: testdata/fuzz/FuzzSubject.
func FuzzSubject(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSubject(data)
		if err != nil {
			return
		}
		e, err := s.validate(testNow)
		if err != nil {
			return
		}
		a := e.attributes(deriveWanghao(make([]byte, 32), e.docType, e.docNumber), [32]byte{1})
		if err := a.ValidateAt(today(testNow)); err != nil {
			t.Fatalf("accepted subject gives invalid attributes: %v", err)
		}
	})
}
