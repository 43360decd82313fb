package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/issuer"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// FromIssuer adapts an open issuer directory to the [Issuer] the service
// calls, sorting the library's errors into the caller's (wrapped in
// [ErrInvalidInput]) and the issuer's own.
func FromIssuer(iss *issuer.Issuer) Issuer { return libIssuer{iss} }

type libIssuer struct{ iss *issuer.Issuer }

func (l libIssuer) CheckSubject(data []byte) error {
	s, err := issuer.ParseSubject(data)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	if err := s.Validate(time.Now()); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return nil
}

func (l libIssuer) Issue(ctx context.Context, subject, holderRequest []byte) ([]byte, error) {
	s, err := issuer.ParseSubject(subject)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	req, err := issuer.ParseHolderRequest(holderRequest)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	b, err := l.iss.Issue(s, req)
	if err != nil {
		if errors.Is(err, issuer.ErrDeviceChanged) {
			// Another device for a person on record is the operator's
			// decision (issuer issue --replace-device), not the wallet's.
			return nil, httpserv.Errorf(http.StatusConflict, "%v", err)
		}
		if errors.Is(err, issuer.ErrSubject) {
			return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
		}
		return nil, err
	}
	return json.Marshal(b)
}

func (l libIssuer) Bucket(index uint64, k int) ([]byte, error) {
	data, err := l.iss.Bucket(index, k)
	if errors.Is(err, revocation.ErrUnknownSerial) {
		return nil, fmt.Errorf("%w: bucket %d of 4^%d holds no serial issued", ErrInvalidInput, index, k)
	}
	if errors.Is(err, issuer.ErrUnpublished) {
		return nil, httpserv.Errorf(http.StatusServiceUnavailable, "the accumulator has unpublished changes; retry after the next publication")
	}
	return data, err
}

func (l libIssuer) Revoke(serials []uint64) error {
	// A serial never issued is the operator's mistake, not the issuer's:
	// find it first, so that the answer is 400 and nothing is revoked.
	for _, s := range serials {
		if _, err := l.iss.Status(s); errors.Is(err, revocation.ErrUnknownSerial) {
			return fmt.Errorf("%w: serial %d was never issued; nothing was revoked", ErrInvalidInput, s)
		}
	}
	return l.iss.Revoke(serials...)
}

func (l libIssuer) Delete(wanghao string) ([]byte, error) {
	res, err := l.iss.Delete(wanghao)
	switch {
	case errors.Is(err, issuer.ErrUnknownWanghao):
		return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
	case err != nil && !wanghaoShape(wanghao):
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	case err != nil:
		return nil, err
	}
	return json.Marshal(res)
}

func (l libIssuer) Publish() ([]byte, error) {
	e, err := l.iss.Publish()
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"epoch": e.Epoch, "root": zkhash.FormatElement(e.Root), "leaf_count": e.LeafCount})
}

// wanghaoShape reports whether s has the shape of this issuer's 网号
// (issuer.WanghaoLen lower-case base32 characters).
func wanghaoShape(s string) bool {
	if len(s) != issuer.WanghaoLen {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}
