// Package flow is what a wallet front end does around the holder library:
// it turns what the holder was handed (a link, a request by reference, the
// JSON of an authorization request) into a request and the place to post
// the answer, asks the library for the consent text and the answer, and
// posts it with response_mode direct_post. The browser wallet
// (wallet/web/wasm) is a thin page over it, so a change of the request
// format lands here and in the holder library, not in the page.
//
// Every decision about a request is the holder library's: Open parses the
// request with holder.ParseRequest and Answer calls Wallet.Prove or
// Wallet.Present, so the browser refuses exactly what the command line
// refuses, with the same errors.
package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/yinzheng-id/yinzheng/holder"
	"github.com/yinzheng-id/yinzheng/publication"
)

// ErrInput reports something handed to the wallet that is not a request
// it can open: not a link, not JSON, a link without a request_uri.
var ErrInput = errors.New("flow: not a request the wallet can open")

// maxAnswer bounds what the verifier's response endpoint may answer.
const maxAnswer = 1 << 20

// Opened is a verifier request the holder is asked to answer.
type Opened struct {
	// Request is the request as the holder library parsed it.
	Request *holder.Request
	// RequestJSON is its JSON, as received.
	RequestJSON json.RawMessage
	// ResponseURI is where the answer is posted (direct_post); empty when
	// the request came bare, without the authorization request around it.
	ResponseURI string
	// State is echoed with the answer.
	State string
	// Consent is the library's description of what answering reveals, to
	// whom (holder.Reveal): show it before Answer.
	Consent string
	// ZK tells a zero-knowledge request from an SD-JWT one.
	ZK bool
}

// envelope is the authorization request around a Yinzheng request, as the
// verifier service answers POST /requests and GET /requests/{id}.
type envelope struct {
	ResponseType string          `json:"response_type"`
	ResponseMode string          `json:"response_mode"`
	ResponseURI  string          `json:"response_uri"`
	RequestURI   string          `json:"request_uri"`
	State        string          `json:"state"`
	Request      json.RawMessage `json:"request"`
}

// Open reads what the holder was handed: an openid4vp:// link (or any URL)
// with a request_uri, the URL of a request by reference, the JSON of an
// authorization request, or a bare request. A request by reference is
// fetched with hc (nil: http.DefaultClient) from an https URL, or http on
// a loopback address.
func Open(ctx context.Context, input string, hc *http.Client) (*Opened, error) {
	input = strings.TrimSpace(input)
	if input == "" {
		return nil, fmt.Errorf("%w: nothing was given", ErrInput)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	data := []byte(input)
	if !strings.HasPrefix(input, "{") {
		ref, err := requestURI(input)
		if err != nil {
			return nil, err
		}
		if data, err = fetch(ctx, hc, ref); err != nil {
			return nil, err
		}
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}
	o := &Opened{}
	raw := data
	if len(env.Request) > 0 {
		if env.ResponseMode != "" && env.ResponseMode != "direct_post" {
			return nil, fmt.Errorf("%w: response_mode %q (this wallet answers direct_post)", ErrInput, env.ResponseMode)
		}
		if env.ResponseURI != "" {
			if err := publication.CheckURL(env.ResponseURI); err != nil {
				return nil, fmt.Errorf("%w: response_uri: %v", ErrInput, err)
			}
		}
		raw, o.ResponseURI, o.State = env.Request, env.ResponseURI, env.State
	}
	req, err := holder.ParseRequest(raw)
	if err != nil {
		return nil, err
	}
	o.Request, o.RequestJSON, o.ZK = req, raw, req.SDJWT == nil
	o.Consent = holder.Reveal(req)
	return o, nil
}

// requestURI finds the request_uri of a link (in its query or fragment),
// or takes an http(s) URL as the request's own address.
func requestURI(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInput, err)
	}
	for _, q := range []string{u.RawQuery, u.Fragment} {
		v, err := url.ParseQuery(q)
		if err == nil && v.Get("request_uri") != "" {
			ref := v.Get("request_uri")
			if err := checkFetchURL(ref); err != nil {
				return "", err
			}
			return ref, nil
		}
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		if err := checkFetchURL(link); err != nil {
			return "", err
		}
		return link, nil
	}
	return "", fmt.Errorf("%w: the link has no request_uri", ErrInput)
}

// checkFetchURL accepts https, or http to a loopback address.
func checkFetchURL(ref string) error {
	u, err := url.Parse(ref)
	if err != nil {
		return fmt.Errorf("%w: request_uri: %v", ErrInput, err)
	}
	base := (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
	if err := publication.CheckURL(base); err != nil {
		return fmt.Errorf("%w: request_uri: %v", ErrInput, err)
	}
	return nil
}

func fetch(ctx context.Context, hc *http.Client, ref string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", ref, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("flow: fetch the request: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, holder.MaxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("flow: fetch the request: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("flow: fetch the request: the verifier answered %d: %s", resp.StatusCode, bytes.TrimSpace(data[:min(len(data), 300)]))
	}
	return data, nil
}

// Answer answers the opened request with the holder library: a proof
// (Wallet.Prove, reading the issuer's publication from src, or from the
// request's issuer URL when src is nil) or an SD-JWT presentation
// (Wallet.Present). The caller has shown o.Consent and the holder agreed.
func Answer(ctx context.Context, w *holder.Wallet, o *Opened, src publication.Source, opts holder.ProveOptions) ([]byte, error) {
	var p *holder.Presentation
	var err error
	if o.ZK {
		if src == nil {
			if err := publication.CheckURL(o.Request.Issuer); err != nil {
				return nil, fmt.Errorf("the issuer %q is not a URL to fetch its publication from (%v)", o.Request.Issuer, err)
			}
			src = publication.HTTPSource(o.Request.Issuer, nil)
		}
		p, err = w.Prove(ctx, o.Request, src, opts)
	} else {
		p, err = w.Present(o.Request)
	}
	if err != nil {
		return nil, err
	}
	return holder.MarshalPresentation(p)
}

// Result is the verifier's answer to a posted presentation.
type Result struct {
	// Status is the HTTP status (200 accepted, 422 refused).
	Status int `json:"status"`
	// Valid is the verdict.
	Valid bool `json:"valid"`
	// Reasons say why a presentation was refused.
	Reasons []string `json:"reasons"`
	// Body is the verifier's whole answer.
	Body json.RawMessage `json:"body"`
}

// Post sends the presentation to the request's response_uri as direct_post
// form data (vp_token, state) and returns the verifier's verdict.
func Post(ctx context.Context, hc *http.Client, o *Opened, presentation []byte) (*Result, error) {
	if o.ResponseURI == "" {
		return nil, errors.New("flow: the request names no response_uri to post the answer to")
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	form := url.Values{"vp_token": {string(presentation)}}
	if o.State != "" {
		form.Set("state", o.State)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", o.ResponseURI, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("flow: post the answer: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("flow: read the verifier's answer: %w", err)
	}
	res := &Result{Status: resp.StatusCode, Body: data}
	var v struct {
		Valid   bool     `json:"valid"`
		Reasons []string `json:"reasons"`
		Error   string   `json:"error"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("flow: the verifier answered %d, not JSON", resp.StatusCode)
	}
	res.Valid, res.Reasons = v.Valid && resp.StatusCode == http.StatusOK, v.Reasons
	if v.Error != "" {
		res.Reasons = append(res.Reasons, v.Error)
	}
	return res, nil
}
