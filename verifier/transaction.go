package verifier

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// A transaction is one request from creation to verdict. The store holds
// its record while it can be answered and its verdict after it was
// decided, so that any verifier sharing the store (a replica) can serve
// the request, decide the presentation and report the result.

// resultTokenSize is the number of random bytes of a result token.
const resultTokenSize = 32

// ErrNoResult means no result is reported for this request and token: it
// is not decided yet, the verdict was dropped, the request is unknown, or
// the token is not the request's (the four are not told apart).
var ErrNoResult = errors.New("verifier: no result for this request")

// requestRecord is what the store keeps of an outstanding request: the
// request document and the SHA-256 of its result token (none for a
// request made with NewRequest).
type requestRecord struct {
	Request   json.RawMessage `json:"request"`
	ResultKey []byte          `json:"result_key,omitempty"`
}

// verdictRecord is what the store keeps of a decided request.
type verdictRecord struct {
	Result    *Result `json:"result"`
	ResultKey []byte  `json:"result_key,omitempty"`
}

// parseRecord reads a request record. A record written before records
// existed is the bare request document.
func parseRecord(data []byte) (*Request, []byte, error) {
	var rec requestRecord
	if err := json.Unmarshal(data, &rec); err != nil || len(rec.Request) == 0 {
		req, err := ParseRequest(data)
		return req, nil, err
	}
	req, err := ParseRequest(rec.Request)
	return req, rec.ResultKey, err
}

func resultKey(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// NewTransaction is NewRequest that also returns a result token: a secret
// for the party that made the request, not for the wallet, with which
// [Verifier.Result] reports the verdict on any verifier sharing the store.
// The store keeps only the token's SHA-256.
func (v *Verifier) NewTransaction(ctx context.Context, p Policy) (*Request, string, error) {
	tok := make([]byte, resultTokenSize)
	if _, err := io.ReadFull(v.rand, tok); err != nil {
		return nil, "", fmt.Errorf("verifier: random result token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(tok)
	req, err := v.newRequest(ctx, p, resultKey(token))
	if err != nil {
		return nil, "", err
	}
	return req, token, nil
}

// PendingRequest returns the recorded request id while it can still be
// answered (not decided, not expired), or an error wrapping
// ErrUnknownRequest, or ErrStoreUnavailable. A wallet given the request by
// reference reads it here, from any replica.
func (v *Verifier) PendingRequest(ctx context.Context, id string) (*Request, error) {
	if len(id) > maxRequestIDSize {
		return nil, ErrUnknownRequest
	}
	data, err := v.store.GetRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	req, _, err := parseRecord(data)
	if err != nil {
		return nil, fmt.Errorf("verifier: recorded request %s: %w", id, err)
	}
	if exp, err := requestExpiry(req); err != nil {
		return nil, err
	} else if !v.now().Before(exp) {
		return nil, fmt.Errorf("%w: expired", ErrUnknownRequest)
	}
	return req, nil
}

// Result reports the verdict on request id to the holder of its result
// token (from NewTransaction): the Result that Verify returned, whichever
// replica decided it. Before the request is decided, after the verdict is
// dropped, or for a wrong token, it returns ErrNoResult.
func (v *Verifier) Result(ctx context.Context, id, token string) (*Result, error) {
	if len(id) > maxRequestIDSize || token == "" {
		return nil, ErrNoResult
	}
	data, err := v.store.GetVerdict(ctx, id)
	if errors.Is(err, ErrUnknownRequest) {
		return nil, ErrNoResult
	}
	if err != nil {
		return nil, err
	}
	var rec verdictRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec.Result == nil {
		return nil, fmt.Errorf("verifier: recorded verdict of %s is damaged", id)
	}
	if len(rec.ResultKey) == 0 || subtle.ConstantTimeCompare(rec.ResultKey, resultKey(token)) != 1 {
		return nil, ErrNoResult
	}
	return rec.Result, nil
}

// maxRequestIDSize bounds the request ids looked up in the store; the
// verifier's own are 22 characters.
const maxRequestIDSize = 256

// requestExpiry is the request's expires_at.
func requestExpiry(r *Request) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, r.ExpiresAt)
	if err != nil {
		return t, fmt.Errorf("verifier: recorded request %s: expires_at: %w", r.ID, err)
	}
	return t, nil
}
