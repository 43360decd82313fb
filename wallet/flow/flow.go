// Package flow is what a wallet front end does around the holder library
// for OpenID4VP 1.0: it opens what the holder was handed (an openid4vp://
// invocation URL, or the compact request object) with holder.FetchRequest
// and the registrar roots the wallet pins, gives the library's consent
// text, answers with Wallet.Prove or Wallet.Present, and posts the
// vp_token with response_mode direct_post (holder.PostResponse). The
// browser wallet (wallet/web/wasm) is a thin page over it, so a change of
// the request format lands here and in the holder library, not in the
// page.
//
// Every decision about a request is the holder library's: the browser
// refuses exactly what the command line refuses, with the same errors.
package flow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/holder"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/wire"
)

// ErrInput reports something handed to the wallet that is not a request
// it can open: nothing, or neither an invocation URL nor a request object.
var ErrInput = errors.New("flow: not a request the wallet can open")

// Opened is a platform's request the holder is asked to answer, fetched
// and authorized against the wallet's pinned registrars.
type Opened struct {
	// Authorized is the request as the holder library verified it.
	Authorized *holder.AuthorizedRequest
	// Platform is the registered platform that asks.
	Platform string
	// Consent is the library's description of who asks and what
	// answering reveals (holder.Consent): show it before Answer.
	Consent string
	// ZK tells a zero-knowledge request from an SD-JWT one.
	ZK bool
}

// Open reads what the holder was handed: an openid4vp:// invocation URL,
// whose request_uri is fetched with hc (nil: http.DefaultClient; https,
// or plain http on loopback), or the compact request object itself. The
// request is authorized with the registrar roots w pins
// (holder.ErrNoRegistrar when it pins none).
func Open(ctx context.Context, w *holder.Wallet, input string, hc *http.Client) (*Opened, error) {
	input = strings.TrimSpace(input)
	if input == "" {
		return nil, fmt.Errorf("%w: nothing was given", ErrInput)
	}
	if !strings.HasPrefix(input, wire.InvocationScheme+"://") && strings.Count(input, ".") != 2 {
		return nil, fmt.Errorf("%w: give the %s:// link or the request object (a signed JWT)", ErrInput, wire.InvocationScheme)
	}
	roots, err := w.Registrars()
	if err != nil {
		return nil, err
	}
	a, err := holder.FetchRequest(ctx, hc, input, roots, time.Now())
	if err != nil {
		return nil, err
	}
	req := a.Request()
	return &Opened{Authorized: a, Platform: a.Platform, Consent: holder.Consent(a), ZK: req.SDJWT == nil}, nil
}

// Answer answers the opened request with the holder library: a proof
// (Wallet.Prove, reading the issuer's publication from src, or from the
// request's issuer URL when src is nil) or an SD-JWT presentation
// (Wallet.Present), as the vp_token to post. The caller has shown
// o.Consent and the holder agreed.
func Answer(ctx context.Context, w *holder.Wallet, o *Opened, src publication.Source, opts holder.ProveOptions) ([]byte, error) {
	var p *holder.Presentation
	var err error
	if o.ZK {
		if src == nil {
			issuer := o.Authorized.Request().Issuer
			if err := publication.CheckURL(issuer); err != nil {
				return nil, fmt.Errorf("the issuer %q is not a URL to fetch its publication from (%v)", issuer, err)
			}
			src = publication.HTTPSource(issuer, nil)
		}
		p, err = w.Prove(ctx, o.Authorized, src, opts)
	} else {
		p, err = w.Present(o.Authorized)
	}
	if err != nil {
		return nil, err
	}
	return holder.VPToken(p)
}

// Post sends the vp_token to the platform's response_uri (direct_post,
// holder.PostResponse) and returns the redirect_uri the platform answers
// with ("" in the cross-device flow). The verdict is the platform's: its
// backend reads it with the response_code of the redirect.
func Post(ctx context.Context, hc *http.Client, o *Opened, vpToken []byte) (string, error) {
	return holder.PostResponse(ctx, hc, o.Authorized, vpToken)
}

// Decline tells the platform the holder refused (access_denied) and
// returns its redirect_uri.
func Decline(ctx context.Context, hc *http.Client, o *Opened) (string, error) {
	return holder.Decline(ctx, hc, o.Authorized, wire.ErrorAccessDenied)
}
