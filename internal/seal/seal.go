// Package seal encrypts small secrets and records at rest with SM4-GCM.
//
// Two forms exist. [Seal] and [Open] protect data under a passphrase: the key
// is derived with Argon2id (memory hard, so a stolen file resists offline
// guessing) and the KDF parameters and salt travel in an authenticated,
// versioned header. [SealKey] and [OpenKey] protect data under a random
// 32-byte data key, for records that are sealed often (personal data in a
// database) where running Argon2id per record would be far too slow; the data
// key itself is then sealed once under the passphrase.
//
// SM4 has a 128-bit key while both forms work with 32-byte keys (the size
// the Argon2id parameters fix and the one a data key has). The SM4 key is
// HMAC-SM3(key, "yinzheng/seal/sm4") truncated to 16 bytes, a single-block
// HKDF-Expand, so every bit of the 32-byte key counts.
package seal

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
	"golang.org/x/crypto/argon2"
)

// KeySize is the size of a data key for [SealKey] and of the key Argon2id
// derives from a passphrase.
const KeySize = 32

const (
	sm4KeySize = 16
	saltSize   = 16
	nonceSize  = 12

	version        = 1
	kindPassphrase = 1
	kindKey        = 2

	// header: version, kind, time (4), memory KiB (4), threads (1), salt, nonce.
	passphraseHeaderSize = 2 + 4 + 4 + 1 + saltSize + nonceSize
	// header: version, kind, nonce.
	keyHeaderSize = 2 + nonceSize
)

// Bounds on the parameters accepted from a sealed header, so that a crafted
// file cannot make Open allocate gigabytes or spin for minutes.
const (
	maxTime    = 16
	maxMemory  = 1 << 20 // KiB, i.e. 1 GiB
	maxThreads = 16
)

// ErrWrongPassphrase is returned by [Open] when the passphrase does not open
// the sealed data. Tampered data gives the same error: GCM cannot tell them
// apart, and saying which would help nobody.
var ErrWrongPassphrase = errors.New("seal: wrong passphrase or corrupted data")

// ErrWrongKey is returned by [OpenKey] when the key does not open the data,
// or the data or its additional data were modified.
var ErrWrongKey = errors.New("seal: wrong key or corrupted data")

// Params are the Argon2id cost parameters.
type Params struct {
	Time    uint32 // passes over memory
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultParams are the parameters [Seal] uses: t=3, m=64 MiB, p=2.
var DefaultParams = Params{Time: 3, Memory: 64 * 1024, Threads: 2}

func (p Params) check() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("seal: argon2id time %d outside 1..%d", p.Time, maxTime)
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("seal: argon2id threads %d outside 1..%d", p.Threads, maxThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("seal: argon2id memory %d KiB outside %d..%d", p.Memory, 8*uint32(p.Threads), maxMemory)
	}
	return nil
}

// Seal encrypts plaintext under passphrase with [DefaultParams]. aad is
// authenticated but not stored: Open must be given the same aad.
func Seal(passphrase, plaintext, aad []byte) ([]byte, error) {
	return SealWithParams(DefaultParams, passphrase, plaintext, aad)
}

// SealWithParams is [Seal] with explicit Argon2id parameters (cheaper ones
// keep tests fast; [Open] reads them from the header).
func SealWithParams(p Params, passphrase, plaintext, aad []byte) ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if len(passphrase) == 0 {
		return nil, errors.New("seal: empty passphrase")
	}
	header := make([]byte, passphraseHeaderSize)
	header[0], header[1] = version, kindPassphrase
	binary.BigEndian.PutUint32(header[2:], p.Time)
	binary.BigEndian.PutUint32(header[6:], p.Memory)
	header[10] = p.Threads
	if _, err := rand.Read(header[11:]); err != nil { // salt and nonce
		return nil, fmt.Errorf("seal: %w", err)
	}
	salt := header[11 : 11+saltSize]
	nonce := header[11+saltSize:]
	key := argon2.IDKey(passphrase, salt, p.Time, p.Memory, p.Threads, KeySize)
	aead, err := newGCM(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	return aead.Seal(header, nonce, plaintext, joinAAD(header, aad)), nil
}

// Open decrypts data sealed by [Seal]. A wrong passphrase, or any change to
// the data, gives [ErrWrongPassphrase].
func Open(passphrase, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < passphraseHeaderSize {
		return nil, fmt.Errorf("seal: sealed data is %d bytes, shorter than its header", len(sealed))
	}
	if sealed[0] != version {
		return nil, fmt.Errorf("seal: unsupported version %d", sealed[0])
	}
	if sealed[1] != kindPassphrase {
		return nil, fmt.Errorf("seal: data is not passphrase-sealed (kind %d)", sealed[1])
	}
	p := Params{
		Time:    binary.BigEndian.Uint32(sealed[2:]),
		Memory:  binary.BigEndian.Uint32(sealed[6:]),
		Threads: sealed[10],
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	header := sealed[:passphraseHeaderSize]
	salt := header[11 : 11+saltSize]
	nonce := header[11+saltSize:]
	key := argon2.IDKey(passphrase, salt, p.Time, p.Memory, p.Threads, KeySize)
	aead, err := newGCM(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(nil, nonce, sealed[passphraseHeaderSize:], joinAAD(header, aad))
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	return plaintext, nil
}

// NewKey returns a fresh random data key for [SealKey].
func NewKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return key, nil
}

// SealKey encrypts plaintext under a random data key of [KeySize] bytes (see
// [NewKey]). aad is authenticated but not stored; binding a record to its
// database key through aad stops records from being swapped.
func SealKey(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	header := make([]byte, keyHeaderSize)
	header[0], header[1] = version, kindKey
	if _, err := rand.Read(header[2:]); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return aead.Seal(header, header[2:], plaintext, joinAAD(header, aad)), nil
}

// OpenKey decrypts data sealed by [SealKey]; a wrong key or any change gives
// [ErrWrongKey].
func OpenKey(key, sealed, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < keyHeaderSize {
		return nil, fmt.Errorf("seal: sealed data is %d bytes, shorter than its header", len(sealed))
	}
	if sealed[0] != version {
		return nil, fmt.Errorf("seal: unsupported version %d", sealed[0])
	}
	if sealed[1] != kindKey {
		return nil, fmt.Errorf("seal: data is not key-sealed (kind %d)", sealed[1])
	}
	header := sealed[:keyHeaderSize]
	plaintext, err := aead.Open(nil, header[2:], sealed[keyHeaderSize:], joinAAD(header, aad))
	if err != nil {
		return nil, ErrWrongKey
	}
	return plaintext, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key is %d bytes, want %d", len(key), KeySize)
	}
	mac := hmac.New(sm3.New, key)
	mac.Write([]byte("yinzheng/seal/sm4"))
	sm4Key := mac.Sum(nil)[:sm4KeySize]
	block, err := sm4.NewCipher(sm4Key)
	clear(sm4Key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return cipher.NewGCM(block)
}

// joinAAD authenticates the header (so its parameters cannot be changed)
// together with the caller's additional data, length-prefixed so that the
// boundary between them is unambiguous.
func joinAAD(header, aad []byte) []byte {
	out := make([]byte, 0, 8+len(header)+len(aad))
	out = binary.BigEndian.AppendUint32(out, uint32(len(header)))
	out = append(out, header...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(aad)))
	return append(out, aad...)
}
