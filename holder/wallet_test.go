package holder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/schemas"
)

func TestRecoveryPhraseRoundTrip(t *testing.T) {
	for range 20 {
		var s fr.Element
		if _, err := s.SetRandom(); err != nil {
			t.Fatal(err)
		}
		phrase := encodeRecoveryPhrase(s)
		if len(phrase) != recoveryPhraseLen+recoveryPhraseLen/recoveryGroup-1 {
			t.Fatalf("phrase %q has length %d", phrase, len(phrase))
		}
		got, err := decodeRecoveryPhrase(phrase)
		if err != nil || !got.Equal(&s) {
			t.Fatalf("decode(%q) = %v, %v", phrase, got, err)
		}
		// Crockford's forgiving reading: lower case, spaces instead of hyphens.
		loose := strings.ToLower(strings.ReplaceAll(phrase, "-", " "))
		if got, err := decodeRecoveryPhrase(loose); err != nil || !got.Equal(&s) {
			t.Fatalf("decode(%q) = %v, %v", loose, got, err)
		}
	}
}

func TestRecoveryPhraseRejects(t *testing.T) {
	var s fr.Element
	s.SetUint64(123456789)
	phrase := encodeRecoveryPhrase(s)
	// A different character in the first group (a typo).
	typo := []byte(phrase)
	if typo[0] == '0' {
		typo[0] = '2'
	} else {
		typo[0] = '0'
	}
	// A phrase whose secret is not below the field modulus but whose
	// checksum is right.
	var big [32]byte
	for i := range big {
		big[i] = 0xff
	}
	nonCanonical := crockford.EncodeToString(append(big[:], recoverySum(big[:])...))
	var zero [32]byte
	zeroPhrase := crockford.EncodeToString(append(zero[:], recoverySum(zero[:])...))
	for name, tc := range map[string]struct{ phrase, want string }{
		"typo":          {string(typo), "checksum"},
		"short":         {phrase[:len(phrase)-5], "characters"},
		"long":          {phrase + "-0000", "characters"},
		"bad character": {"U" + phrase[1:], "alphabet"},
		"non-ascii":     {"网" + phrase[1:], "alphabet"},
		"non-canonical": {nonCanonical, "canonical"},
		"zero secret":   {zeroPhrase, "zero"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeRecoveryPhrase(tc.phrase)
			wantIs(t, err, ErrRecoveryPhrase)
			wantErr(t, err, tc.want)
		})
	}
}

func TestRecoverGivesSameCommitmentAndPseudonyms(t *testing.T) {
	dir := t.TempDir()
	w, phrase, err := Init(filepath.Join(dir, "a"), testPassphrase, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Recover(filepath.Join(dir, "b"), []byte("another passphrase"), phrase, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := w.HolderCommitment(), r.HolderCommitment(); !a.Equal(&b) {
		t.Fatal("the recovered wallet has another holder commitment")
	}
	scope, err := schemas.ScopeElement("platform-a")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := w.Pseudonym(scope), r.Pseudonym(scope); !a.Equal(&b) {
		t.Fatal("the recovered wallet has another pseudonym")
	}
	// A fresh wallet has another secret.
	other := newWallet(t)
	if a, b := w.HolderCommitment(), other.HolderCommitment(); a.Equal(&b) {
		t.Fatal("two fresh wallets share a holder commitment")
	}
	// The recovered wallet persists its secret.
	reopened, err := Open(filepath.Join(dir, "b"), []byte("another passphrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := w.HolderCommitment(), reopened.HolderCommitment(); !a.Equal(&b) {
		t.Fatal("the reopened wallet has another holder commitment")
	}
}

func TestOpenWrongPassphrase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "w")
	if _, _, err := Init(dir, testPassphrase, Options{}); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, []byte("wrong"), Options{})
	wantIs(t, err, ErrWrongPassphrase)
	if _, err := Open(dir, testPassphrase, Options{}); err != nil {
		t.Fatalf("right passphrase: %v", err)
	}
}

func TestOpenRefusesTamperedState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "w")
	if _, _, err := Init(dir, testPassphrase, Options{}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, stateFile)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, testPassphrase, Options{})
	wantErr(t, err, "corrupt or replaced")
}

func TestOpenRefusesKeyFileSwappedForState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "w")
	if _, _, err := Init(dir, testPassphrase, Options{}); err != nil {
		t.Fatal(err)
	}
	// The state sealed under the data key must not open as the key file:
	// the additional data binds each sealed file to its role.
	state, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, keyFile), state, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, testPassphrase, Options{}); err == nil {
		t.Fatal("opened a wallet whose key file is its state file")
	}
}

func TestWalletIsSealed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "w")
	w, phrase, err := Init(dir, testPassphrase, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Request(); err != nil {
		t.Fatal(err)
	}
	c := w.HolderCommitment()
	secret := w.secret.Bytes()
	for _, name := range []string{keyFile, stateFile} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for what, needle := range map[string]string{
			"recovery phrase": phrase[:9],
			"secret":          string(secret[:8]),
			"commitment":      zkFormat(c)[2:18],
			"JWK":             `"kty"`,
		} {
			if strings.Contains(string(data), needle) {
				t.Errorf("%s holds the %s in clear", name, what)
			}
		}
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		t.Errorf("wallet directory mode %v is readable by others", info.Mode().Perm())
	}
}

func TestInitRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "something"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := Init(dir, testPassphrase, Options{})
	wantErr(t, err, "not empty")
	_, _, err = Init(filepath.Join(t.TempDir(), "w"), nil, Options{})
	wantErr(t, err, "passphrase is empty")
}

func TestOpenNotAWallet(t *testing.T) {
	_, err := Open(t.TempDir(), testPassphrase, Options{})
	wantIs(t, err, ErrNotWallet)
}

func TestRequestKeysAreFresh(t *testing.T) {
	w := newWallet(t)
	a, b := mustRequest(t, w), mustRequest(t, w)
	if len(a.SDJWTKeys) != SDJWTCopies {
		t.Fatalf("%d keys, want %d", len(a.SDJWTKeys), SDJWTCopies)
	}
	seen := map[string]bool{}
	for _, k := range append(a.SDJWTKeys, b.SDJWTKeys...) {
		if seen[string(k)] {
			t.Fatal("a holder key repeats")
		}
		if strings.Contains(string(k), `"d"`) {
			t.Fatal("the request carries a private key")
		}
		seen[string(k)] = true
	}
	if a.HolderCommitment != b.HolderCommitment || a.HolderCommitment != zkFormat(w.HolderCommitment()) {
		t.Fatal("the holder commitment is not the wallet's")
	}
}
