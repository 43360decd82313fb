package holder

import (
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/emmansun/gmsm/sm3"
)

// The recovery phrase carries the holder secret, the only thing a wallet
// cannot get back from anyone else: with it, a new wallet has the same holder
// commitment (so the issuer can re-issue to it) and the same pseudonym at
// every platform (so accounts survive a lost device).
//
// Format: the secret's 32 big-endian bytes followed by a 3-byte checksum
// (the first bytes of SM3(recoveryTag || secret)), 35 bytes in all, written
// in Crockford's base32 (56 characters, no padding) as 14 groups of 4
// separated by hyphens. Reading is forgiving where Crockford's alphabet is:
// case is ignored, O reads as 0, I and L read as 1, and hyphens and white
// space are skipped. The checksum catches a mistyped or swapped character
// with probability 1 - 2^-24.
const (
	recoveryTag        = "yinzheng:v1:recovery-phrase"
	recoveryChecksum   = 3
	recoveryGroup      = 4
	crockfordAlphabet  = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	recoveryPhraseLen  = (fr.Bytes + recoveryChecksum) * 8 / 5 // 56 characters
	recoveryPhraseText = "14 groups of 4 characters"
)

var crockford = base32.NewEncoding(crockfordAlphabet).WithPadding(base32.NoPadding)

// ErrRecoveryPhrase reports a recovery phrase that cannot be read: wrong
// length, a character outside the alphabet, or a checksum that does not
// match (a typo).
var ErrRecoveryPhrase = errors.New("holder: invalid recovery phrase")

// encodeRecoveryPhrase writes the recovery phrase of a holder secret.
func encodeRecoveryPhrase(secret fr.Element) string {
	raw := secret.Bytes()
	sum := recoverySum(raw[:])
	text := crockford.EncodeToString(append(raw[:], sum...))
	groups := make([]string, 0, len(text)/recoveryGroup)
	for i := 0; i < len(text); i += recoveryGroup {
		groups = append(groups, text[i:i+recoveryGroup])
	}
	return strings.Join(groups, "-")
}

// decodeRecoveryPhrase reads a recovery phrase back into the holder secret.
func decodeRecoveryPhrase(phrase string) (fr.Element, error) {
	var b strings.Builder
	for _, r := range phrase {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '\n' || r == '\r':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 0x7f || !strings.ContainsRune(crockfordAlphabet, r) {
			return fr.Element{}, fmt.Errorf("%w: character %q is not in the alphabet (digits and capital letters except I, L, O, U)", ErrRecoveryPhrase, r)
		}
		b.WriteRune(r)
	}
	text := b.String()
	if len(text) != recoveryPhraseLen {
		return fr.Element{}, fmt.Errorf("%w: %d characters, want %d (%s)", ErrRecoveryPhrase, len(text), recoveryPhraseLen, recoveryPhraseText)
	}
	raw, err := crockford.DecodeString(text)
	if err != nil || len(raw) != fr.Bytes+recoveryChecksum {
		return fr.Element{}, fmt.Errorf("%w: not valid base32", ErrRecoveryPhrase)
	}
	secretBytes, sum := raw[:fr.Bytes], raw[fr.Bytes:]
	if subtle.ConstantTimeCompare(recoverySum(secretBytes), sum) != 1 {
		return fr.Element{}, fmt.Errorf("%w: checksum does not match (a character is mistyped)", ErrRecoveryPhrase)
	}
	var secret fr.Element
	if err := secret.SetBytesCanonical(secretBytes); err != nil {
		return fr.Element{}, fmt.Errorf("%w: the secret is not a canonical field element", ErrRecoveryPhrase)
	}
	if secret.IsZero() {
		return fr.Element{}, fmt.Errorf("%w: the secret is zero", ErrRecoveryPhrase)
	}
	return secret, nil
}

func recoverySum(secret []byte) []byte {
	h := sm3.New()
	h.Write([]byte(recoveryTag))
	h.Write(secret)
	return h.Sum(nil)[:recoveryChecksum]
}
