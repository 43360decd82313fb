package revocation

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/yinzheng-id/yinzheng/internal/storelock"
	"github.com/yinzheng-id/yinzheng/jose"
)

// StatusListType is the JWS "typ" of a Token Status List
// (draft-ietf-oauth-status-list).
const StatusListType = "statuslist+jwt"

// Lifetimes of a status list token: verifiers should refetch after
// StatusListTTL and must not use it after StatusListLifetime.
const (
	StatusListTTL      = time.Hour
	StatusListLifetime = 24 * time.Hour
)

// maxStatusListBytes bounds a decompressed list: one bit for each of 2^32
// serials, so a small token cannot inflate without bound.
const maxStatusListBytes = 1 << 29

// statusListPayload is the token's JSON payload.
type statusListPayload struct {
	Iss        string         `json:"iss,omitempty"`
	Sub        string         `json:"sub"`
	Iat        int64          `json:"iat"`
	Exp        int64          `json:"exp,omitempty"`
	TTL        int64          `json:"ttl,omitempty"`
	StatusList statusListJSON `json:"status_list"`
}

type statusListJSON struct {
	Bits int    `json:"bits"`
	Lst  string `json:"lst"`
}

// StatusBits returns the status list as bytes: bit i (byte i/8, least
// significant bit first) is 1 if serial i is revoked. It covers every
// issued serial.
func (s *Store) StatusBits() ([]byte, error) {
	var out []byte
	err := storelock.View(s.db, func(txn *badger.Txn) error {
		st, err := readState(txn)
		if err != nil {
			return err
		}
		out = make([]byte, (st.leafCount+7)/8)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixStatus}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 9 {
				return errors.New("revocation: corrupt status key")
			}
			off := binary.BigEndian.Uint64(k[1:]) * statusChunkBytes
			if off >= uint64(len(out)) {
				return fmt.Errorf("revocation: status record beyond the leaf count")
			}
			err := it.Item().Value(func(v []byte) error {
				if len(v) != statusChunkBytes {
					return errors.New("revocation: corrupt status record")
				}
				copy(out[off:], v)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// StatusListToken returns the signed statuslist+jwt for uri (its "sub",
// the URI credentials carry in their status claim), valid from now.
func (s *Store) StatusListToken(key *jose.PrivateKey, issuer, uri string, now time.Time) (string, error) {
	if uri == "" {
		return "", errors.New("revocation: a status list token needs its URI")
	}
	bits, err := s.StatusBits()
	if err != nil {
		return "", err
	}
	return SignStatusList(key, issuer, uri, bits, now)
}

// SignStatusList returns a statuslist+jwt of one bit per entry (bit i is
// byte i/8, least significant bit first; 1 means revoked) for uri, signed
// by key, issued at now, with exp StatusListLifetime later and ttl
// StatusListTTL. The accumulator's list (Store.StatusListToken) and the
// registrar's list of platform registrations are both written by it, so
// that ParseStatusListToken reads either.
func SignStatusList(key *jose.PrivateKey, issuer, uri string, bits []byte, now time.Time) (string, error) {
	if uri == "" {
		return "", errors.New("revocation: a status list token needs its URI")
	}
	if len(bits) > maxStatusListBytes {
		return "", errors.New("revocation: status list larger than 2^32 entries")
	}
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := zw.Write(bits); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	payload, err := json.Marshal(statusListPayload{
		Iss: issuer, Sub: uri, Iat: now.Unix(),
		Exp: now.Add(StatusListLifetime).Unix(), TTL: int64(StatusListTTL / time.Second),
		StatusList: statusListJSON{Bits: 1, Lst: base64.RawURLEncoding.EncodeToString(z.Bytes())},
	})
	if err != nil {
		return "", err
	}
	header := map[string]any{"typ": StatusListType, "kid": key.Public().KeyID()}
	return jose.Sign(key, header, payload)
}

// ErrStatusListExpired means a status list token's exp has passed.
var ErrStatusListExpired = errors.New("revocation: status list token expired")

// StatusList is a verified status list token.
type StatusList struct {
	Issuer   string
	Subject  string
	IssuedAt time.Time
	Expires  time.Time
	TTL      time.Duration
	bits     []byte
}

// ParseStatusListToken verifies a statuslist+jwt with key and checks that it
// is the list for uri and has not expired at now.
func ParseStatusListToken(token string, key *jose.PublicKey, uri string, now time.Time) (*StatusList, error) {
	header, payload, err := jose.Verify(token, key)
	if err != nil {
		return nil, fmt.Errorf("revocation: status list token: %w", err)
	}
	if typ, _ := header["typ"].(string); typ != StatusListType {
		return nil, fmt.Errorf("revocation: status list token: typ %q, want %q", header["typ"], StatusListType)
	}
	var p statusListPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("revocation: status list token payload: %w", err)
	}
	switch {
	case p.Sub != uri:
		return nil, fmt.Errorf("revocation: status list token is for %q, not %q", p.Sub, uri)
	case p.Iat <= 0:
		return nil, errors.New("revocation: status list token has no iat")
	case p.Exp != 0 && !now.Before(time.Unix(p.Exp, 0)):
		return nil, fmt.Errorf("%w at %s", ErrStatusListExpired, time.Unix(p.Exp, 0).UTC().Format(time.RFC3339))
	case p.StatusList.Bits != 1:
		return nil, fmt.Errorf("revocation: status list of %d bits per credential, this accumulator writes 1", p.StatusList.Bits)
	}
	z, err := base64.RawURLEncoding.Strict().DecodeString(p.StatusList.Lst)
	if err != nil {
		return nil, fmt.Errorf("revocation: status list lst is not base64url: %w", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("revocation: status list lst is not zlib: %w", err)
	}
	bits, err := io.ReadAll(io.LimitReader(zr, maxStatusListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("revocation: status list lst is not zlib: %w", err)
	}
	if len(bits) > maxStatusListBytes {
		return nil, errors.New("revocation: status list larger than 2^32 entries")
	}
	l := &StatusList{Issuer: p.Iss, Subject: p.Sub, IssuedAt: time.Unix(p.Iat, 0).UTC(), TTL: time.Duration(p.TTL) * time.Second, bits: bits}
	if p.Exp != 0 {
		l.Expires = time.Unix(p.Exp, 0).UTC()
	}
	return l, nil
}

// Len returns the number of entries the list covers (a multiple of 8).
func (l *StatusList) Len() uint64 { return uint64(len(l.bits)) * 8 }

// Status returns the status of index (a credential's serial).
func (l *StatusList) Status(index uint64) (Status, error) {
	if index >= l.Len() {
		return Valid, fmt.Errorf("revocation: index %d beyond the status list of %d entries", index, l.Len())
	}
	return Status(l.bits[index/8] >> (index % 8) & 1), nil
}
