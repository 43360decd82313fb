package holder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/wire"
)

// ErrResponse means the platform's response endpoint did not accept the
// answer (not 200, or a body that is not the direct_post answer).
var ErrResponse = errors.New("holder: the platform did not accept the answer")

// VPToken wraps a presentation as the vp_token JSON object (keyed by the
// credential query id) that answers a.
func VPToken(p *Presentation) ([]byte, error) { return wire.NewVPToken(p) }

// PostResponse sends the answer to the platform's response_uri with
// response_mode direct_post (a form with vp_token and state) and returns
// the redirect_uri of the 200 answer ("" when the platform gives none:
// the cross-device flow).
func PostResponse(ctx context.Context, client *http.Client, a *AuthorizedRequest, vpToken []byte) (string, error) {
	return post(ctx, client, a, url.Values{"vp_token": {string(vpToken)}, "state": {a.State()}})
}

// Decline tells the platform the holder refused (error=access_denied, or
// another code of wire's Error* constants) and returns the redirect_uri.
func Decline(ctx context.Context, client *http.Client, a *AuthorizedRequest, code string) (string, error) {
	return post(ctx, client, a, url.Values{"error": {code}, "state": {a.State()}})
}

func post(ctx context.Context, client *http.Client, a *AuthorizedRequest, form url.Values) (string, error) {
	if client == nil {
		client = http.DefaultClient
	}
	// Authorize checked the URI against the certificate and registration;
	// check the scheme again here, where it is used.
	if _, err := wire.CheckHTTPSURL("response_uri", a.ResponseURI()); err != nil {
		return "", fmt.Errorf("%w: %v", ErrResponseURI, err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, a.ResponseURI(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Never follow a redirect with the presentation: it goes to the
	// response_uri and nowhere else.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(hr)
	if err != nil {
		return "", fmt.Errorf("holder: posting to %s: %w", a.Platform, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("holder: reading the answer of %s: %w", a.Platform, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: %s answered HTTP %d", ErrResponse, a.Platform, resp.StatusCode)
	}
	var ans wire.DirectPostAnswer
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := strictjson.Unmarshal(body, 64<<10, &ans); err != nil {
			// Unknown members are allowed by the spec: read redirect_uri only.
			var loose map[string]json.RawMessage
			if json.Unmarshal(body, &loose) != nil {
				return "", fmt.Errorf("%w: %s answered %v", ErrResponse, a.Platform, err)
			}
			_ = json.Unmarshal(loose["redirect_uri"], &ans.RedirectURI)
		}
	}
	if ans.RedirectURI != "" {
		if _, err := wire.CheckHTTPSURL("redirect_uri", ans.RedirectURI); err != nil {
			return "", fmt.Errorf("%w: %v", ErrResponse, err)
		}
	}
	return ans.RedirectURI, nil
}
