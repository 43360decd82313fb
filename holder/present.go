package holder

import (
	"errors"
	"fmt"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/sdjwt"
)

// ErrNoCopies reports a credential whose single-use SD-JWT copies have all
// been shown.
var ErrNoCopies = errors.New("holder: every SD-JWT copy of this credential has been shown once already (showing one twice would link the two showings); ask the issuer for a new batch")

// Present answers a platform's SD-JWT request (verified by Authorize: the
// key binding audience is its authenticated client_id): it discloses exactly the claims the
// request names, from a copy never shown before, with a Key Binding JWT
// over the client_id and the request's nonce. The copy is marked shown (and the
// wallet saved) before the presentation is built, so a crash can waste a
// copy but never show one twice. Show the holder Reveal(r) first: this is
// the exception path of Art. 8, plaintext claims with separate consent.
func (w *Wallet) Present(a *AuthorizedRequest) (*Presentation, error) {
	if a == nil || a.req == nil {
		return nil, requestErr("not an authorized request (see Authorize)")
	}
	return w.present(a.req)
}

// present is Present of the request an AuthorizedRequest carries, whose
// audience is the authenticated client_id.
func (w *Wallet) present(r *Request) (*Presentation, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.st == nil {
		return nil, errClosed
	}
	if err := checkCommon(r, w.now()); err != nil {
		return nil, err
	}
	if r.SDJWT == nil || len(r.SDJWT.Claims) == 0 {
		return nil, requestErr("it names no SD-JWT claim (a zero-knowledge request is answered with holder prove)")
	}
	if r.Audience == "" {
		return nil, requestErr("no audience for the key binding")
	}
	paths, err := claimPaths(r.SDJWT.Claims)
	if err != nil {
		return nil, err
	}
	// A pending credential's copies are as good as any: the status list
	// covers its serial from issuance.
	cred, err := w.credentialFor(r.Issuer, true)
	if err != nil {
		return nil, err
	}
	var cp *sdCopy
	for _, c := range cred.Copies {
		if c.ShownAt == nil {
			cp = c
			break
		}
	}
	if cp == nil {
		return nil, fmt.Errorf("%w (serial %d)", ErrNoCopies, cred.Serial)
	}
	key, err := jose.ParsePrivateJWK(cp.Key)
	if err != nil {
		return nil, fmt.Errorf("holder: stored SD-JWT key: %w", err)
	}
	sd, err := sdjwt.ParseCompact(cp.SDJWT)
	if err != nil {
		return nil, fmt.Errorf("holder: stored SD-JWT: %w", err)
	}
	now := w.now().UTC()
	cp.ShownAt = &now
	if err := w.save(); err != nil {
		return nil, err
	}
	pres, err := sdjwt.Present(sd, paths, sdjwt.PresentOptions{
		HolderKey: key, Audience: r.Audience, Nonce: r.Nonce, Now: w.now,
	})
	if err != nil {
		return nil, fmt.Errorf("holder: present: %w", err)
	}
	return &Presentation{Version: FormatVersion, Type: PresentationSDJWT, RequestID: r.ID, SDJWT: pres.Compact()}, nil
}

// claimPaths turns requested claim names into claim paths, refusing names
// that are not selectively disclosable claims of the schema.
func claimPaths(names []string) ([]sdjwt.ClaimPath, error) {
	specs, err := schemas.ClaimSpecs()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	paths := make([]sdjwt.ClaimPath, 0, len(names))
	for _, n := range names {
		ok := false
		for _, s := range specs {
			ok = ok || s.Name == n && s.Selective
		}
		switch {
		case !ok:
			return nil, requestErr("claim %q is not a disclosable claim of the credential", n)
		case seen[n]:
			return nil, requestErr("claim %q is asked for twice", n)
		}
		seen[n] = true
		paths = append(paths, sdjwt.ClaimPath{n})
	}
	return paths, nil
}
