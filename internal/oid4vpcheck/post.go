package oid4vpcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Answer is the response_uri's answer to a direct_post.
type Answer struct {
	// RedirectURI is where the wallet sends the user agent ("" when the
	// answer names none).
	RedirectURI string
	// Body is the answer's members (unknown ones are ignored, §8.2).
	Body map[string]json.RawMessage
}

// PostResponse posts an authorization response (or error response) form
// to the request's response_uri with response mode direct_post (§8.2):
// application/x-www-form-urlencoded over HTTPS, redirects not followed
// (the form goes to the response_uri only). The answer must be 200 with
// Content-Type application/json and a JSON object; its redirect_uri, if
// present, a string holding an absolute https URI (RFC 3986 §4.3; https
// because the wallet sends the user agent and its response code there).
// A direct_post.jwt request is answered the same way only with an error
// response (§8.3.1): this wallet does not encrypt.
func (w *Wallet) PostResponse(ctx context.Context, r *Request, form url.Values) (*Answer, error) {
	if r.ResponseMode == "direct_post.jwt" && !form.Has("error") {
		return nil, fmt.Errorf("%w: this wallet does not encrypt responses", ErrResponseMode)
	}
	if _, err := httpsURL(r.ResponseURI); err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, r.ResponseURI, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFetch, err)
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c := w.client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(hr)
	if err != nil {
		// %w twice: a refused redirect is also ErrInsecureURL.
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFetch, err)
	}
	return CheckAnswer(resp.StatusCode, resp.Header.Get("Content-Type"), body)
}

// CheckAnswer applies §8.2 to a response_uri's answer.
func CheckAnswer(status int, contentType string, body []byte) (*Answer, error) {
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d", ErrAnswerStatus, status)
	}
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		return nil, fmt.Errorf("%w: %q", ErrAnswerContentType, contentType)
	}
	if len(body) > MaxDocumentSize {
		return nil, ErrTooLarge
	}
	o, err := parseObject(body, ErrAnswerBody)
	if err != nil {
		return nil, err
	}
	a := &Answer{Body: o}
	if o.has("redirect_uri") {
		s, _, err := o.str("redirect_uri")
		if err != nil {
			return nil, fmt.Errorf("%w: not a string", ErrAnswerRedirectURI)
		}
		u, err := url.Parse(s)
		if err != nil || !u.IsAbs() || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("%w: %q is not an absolute https URI", ErrAnswerRedirectURI, s)
		}
		a.RedirectURI = s
	}
	return a, nil
}
