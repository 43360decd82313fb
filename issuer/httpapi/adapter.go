package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

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
