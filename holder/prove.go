package holder

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// ErrEpochs means the request names neither the issuer's latest epoch nor
// one of the publication.EpochGrace before it: the wallet answers under no
// other root, whatever paths it holds (an older root would tell the
// verifier when the wallet was last refreshed). The verifier should make a
// new request.
var ErrEpochs = errors.New("holder: the request accepts neither the issuer's latest epoch nor the grace before it")

// ProveOptions adjust Prove.
type ProveOptions struct {
	// Warn receives warnings meant for the holder (development keys, a
	// refresh that happened on the way); nil discards them.
	Warn func(msg string)
}

// Prove answers a platform's zero-knowledge request (verified by Authorize:
// the pseudonym scope is its authenticated client_id) with a proof from a
// credential of the request's issuer. It checks the request first (see Reveal: the caller
// shows the holder what will be revealed before calling Prove), refreshes
// the credential to the issuer's latest signed root from src, and answers
// under the newest epoch the request names among the latest and the
// publication.EpochGrace before it (ErrEpochs if none; a failed refresh is
// an error, never an answer under an older root). It then checks
// natively that the credential satisfies the request (so a refusal names
// its reason, such as "the holder is not 18 or older"), loads the circuit
// keys the issuer publishes (cached in the wallet) and proves.
//
// Development keys (from a setup whose randomness is public) are used only
// when the issuer's metadata and the request both name exactly those keys'
// circuit id: they cannot hurt the holder's privacy, only the verifier's
// assurance, and the verifier chose them. Prove then warns.
func (w *Wallet) Prove(ctx context.Context, a *AuthorizedRequest, src publication.Source, opts ProveOptions) (*Presentation, error) {
	if a == nil || a.req == nil {
		return nil, requestErr("not an authorized request (see Authorize)")
	}
	return w.prove(ctx, a.req, src, opts)
}

// prove is Prove of the request an AuthorizedRequest carries, whose scope
// is the authenticated client_id.
func (w *Wallet) prove(ctx context.Context, r *Request, src publication.Source, opts ProveOptions) (*Presentation, error) {
	warn := opts.Warn
	if warn == nil {
		warn = func(string) {}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.st == nil {
		return nil, errClosed
	}
	z, err := checkZK(r, w.now())
	if err != nil {
		return nil, err
	}
	cred, err := w.credentialFor(r.Issuer, false)
	if errors.Is(err, ErrPending) && src != nil {
		// The issuer may have published the epoch since: complete the
		// pending path with the deltas every holder downloads, then choose.
		if rerr := w.refreshIssuer(ctx, src, r.Issuer); rerr != nil {
			return nil, fmt.Errorf("%w (refreshing: %v)", err, rerr)
		}
		cred, err = w.credentialFor(r.Issuer, false)
	}
	if err != nil {
		return nil, err
	}
	if src == nil {
		return nil, errors.New("holder: proving needs the issuer's publication (the wallet refreshes to the latest root first, and loads the circuit keys); give an issuer source")
	}
	// Always to the latest: what the wallet answers under must not depend
	// on when it was last refreshed.
	if err := w.refreshFor(ctx, src, cred, warn); err != nil {
		return nil, err
	}
	rec := pathFor(cred, r)
	if rec == nil {
		return nil, fmt.Errorf("%w (it accepts epochs %v, the issuer's latest is %d)", ErrEpochs, r.Epochs, cred.current().Epoch)
	}

	zc, birth, err := w.zkCredential(cred, rec)
	if err != nil {
		return nil, err
	}
	if z.statement.Root, err = zkhash.ParseElement(rec.Root); err != nil {
		return nil, fmt.Errorf("holder: stored root: %w", err)
	}
	if _, err := zc.Satisfies(&z.statement); err != nil {
		return nil, explain(err, z, birth)
	}

	info, err := w.issuerFor(ctx, src, cred.Issuer)
	if err != nil {
		return nil, err
	}
	keys, err := w.circuitKeys(ctx, src, info, r.CircuitID, warn)
	if err != nil {
		return nil, err
	}
	proof, pseudonym, err := keys.Prove(&z.statement, zc)
	if err != nil {
		return nil, explain(err, z, birth)
	}
	raw, err := proof.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("holder: encode the proof: %w", err)
	}
	epoch := rec.Epoch
	return &Presentation{
		Version: FormatVersion, Type: PresentationZK, RequestID: r.ID, CircuitID: keys.Manifest.CircuitID,
		Epoch: &epoch, Pseudonym: zkhash.FormatElement(pseudonym), Proof: base64.RawURLEncoding.EncodeToString(raw),
	}, nil
}

// refreshFor refreshes the credential's issuer and reports what happened to
// cred. The caller holds w.mu.
func (w *Wallet) refreshFor(ctx context.Context, src publication.Source, cred *credential, warn func(string)) error {
	info, err := w.issuerFor(ctx, src, cred.Issuer)
	if err != nil {
		return err
	}
	reps, err := w.refreshIssuerLocked(ctx, src, info)
	if err != nil {
		return err
	}
	for _, rp := range reps {
		if rp.Serial == cred.Serial && rp.ToEpoch != rp.FromEpoch {
			warn(fmt.Sprintf("refreshed the witness from epoch %d to %d", rp.FromEpoch, rp.ToEpoch))
		}
	}
	if cred.Revoked != nil {
		return fmt.Errorf("%w (serial %d, at epoch %d)", ErrRevoked, cred.Serial, cred.Revoked.Epoch)
	}
	return nil
}

// refreshIssuer refreshes every credential of issuer from src. The caller
// holds w.mu.
func (w *Wallet) refreshIssuer(ctx context.Context, src publication.Source, issuer string) error {
	info, err := w.issuerFor(ctx, src, issuer)
	if err != nil {
		return err
	}
	_, err = w.refreshIssuerLocked(ctx, src, info)
	return err
}

// explain adds the request's words to a circuit refusal.
func explain(err error, z *zkRequest, birth uint32) error {
	switch {
	case errors.Is(err, circuits.ErrBirthDate):
		return fmt.Errorf("%w: %s", err, z.birthReason(birth))
	case errors.Is(err, circuits.ErrLevel):
		return fmt.Errorf("%w: the request asks for level %d", err, z.req.MinLevel)
	case errors.Is(err, circuits.ErrFlags):
		return fmt.Errorf("%w: the request asks for %v", err, z.req.Flags)
	case errors.Is(err, circuits.ErrExpired):
		return fmt.Errorf("%w: it is past its expiry on %s", err, z.today)
	}
	return err
}

// credentialFor returns the newest unrevoked credential of issuer; unless
// allowPending, the newest whose path a signed root covers, and ErrPending
// (issuer "" is any issuer: an SD-JWT query names none)
// when the only unrevoked ones are pending. The caller holds w.mu.
func (w *Wallet) credentialFor(issuer string, allowPending bool) (*credential, error) {
	var revoked, pend *credential
	for i := len(w.st.Credentials) - 1; i >= 0; i-- {
		c := w.st.Credentials[i]
		switch {
		case issuer != "" && c.Issuer != issuer:
		case c.Revoked != nil:
			revoked = c
		case c.current().Pending && !allowPending:
			pend = c
		default:
			return c, nil
		}
	}
	if pend != nil {
		return nil, fmt.Errorf("%w (serial %d, pending in epoch %d)", ErrPending, pend.Serial, pend.current().Epoch)
	}
	if revoked != nil {
		return nil, fmt.Errorf("%w (serial %d, at epoch %d)", ErrRevoked, revoked.Serial, revoked.Revoked.Epoch)
	}
	return nil, fmt.Errorf("holder: the wallet holds no credential of %s", issuer)
}

// pathFor returns the path under the newest epoch r accepts among the
// credential's latest (refreshed) epoch and the publication.EpochGrace
// before it, or nil. No other epoch is ever chosen.
func pathFor(c *credential, r *Request) *pathRec {
	cur := c.current()
	if cur == nil || cur.Pending {
		return nil
	}
	for _, e := range acceptedEpochs(r) {
		if e > cur.Epoch || e+publication.EpochGrace < cur.Epoch {
			continue
		}
		for _, p := range c.Paths {
			if p.Epoch == e {
				return p
			}
		}
	}
	return nil
}

// zkCredential assembles the circuit credential from a stored path.
func (w *Wallet) zkCredential(c *credential, rec *pathRec) (*circuits.Credential, uint32, error) {
	b := &Bundle{Wanghao: c.Wanghao, ZK: c.ZK}
	attrs, err := bundleAttributes(b)
	if err != nil {
		return nil, 0, fmt.Errorf("holder: stored credential: %w", err)
	}
	packed, identity, err := attrs.Encode()
	if err != nil {
		return nil, 0, fmt.Errorf("holder: stored credential: %w", err)
	}
	p, err := rec.toPath(c.Serial)
	if err != nil {
		return nil, 0, err
	}
	birth, err := attrs.BirthDate.Code()
	if err != nil {
		return nil, 0, err
	}
	return &circuits.Credential{Attributes: packed, Identity: identity, Secret: w.secret, Serial: c.Serial, Siblings: p.Siblings}, birth, nil
}

// latestStatement fetches and verifies the issuer's latest root statement.
func latestStatement(ctx context.Context, src publication.Source, info *issuerInfo) (*revocation.RootStatement, string, error) {
	latestJWS, err := src.Get(ctx, publication.LatestRootName, limitSmall)
	if err != nil {
		return nil, "", fmt.Errorf("holder: fetch the latest root: %w", err)
	}
	latest, err := verifyStatement(info, string(latestJWS))
	if err != nil {
		return nil, "", fmt.Errorf("holder: latest root: %w", err)
	}
	return latest, string(latestJWS), nil
}

// refreshIssuerLocked is Refresh for one issuer, with w.mu held.
func (w *Wallet) refreshIssuerLocked(ctx context.Context, src publication.Source, info *issuerInfo) ([]RefreshReport, error) {
	latest, latestJWS, err := latestStatement(ctx, src, info)
	if err != nil {
		return nil, err
	}
	var reports []RefreshReport
	changed := false
	for _, c := range w.st.Credentials {
		if c.Issuer != info.meta.Issuer {
			continue
		}
		r, err := w.refreshOne(ctx, src, info, c, latest, latestJWS)
		if err != nil {
			return reports, fmt.Errorf("holder: serial %d: %w", c.Serial, err)
		}
		changed = changed || r.ToEpoch != r.FromEpoch || r.Revoked
		reports = append(reports, r)
	}
	if changed {
		if err := w.save(); err != nil {
			return reports, err
		}
	}
	return reports, nil
}

// circuitKeys returns the issuer's circuit keys for circuitID, from the
// wallet's cache or downloaded into it. The caller holds w.mu.
func (w *Wallet) circuitKeys(ctx context.Context, src publication.Source, info *issuerInfo, circuitID string, warn func(string)) (*circuits.Keys, error) {
	if info.meta.CircuitID != circuitID {
		return nil, requestErr("it asks for circuit %s, the issuer publishes circuit %s", circuitID, info.meta.CircuitID)
	}
	if !circuits.IsDigestName(circuitID) {
		return nil, requestErr("circuit_id %q is not a multibase identifier", circuitID)
	}
	if k := w.keys[circuitID]; k != nil {
		return k, nil
	}
	manifestJSON, err := src.Get(ctx, publication.ManifestName, limitSmall)
	if err != nil {
		return nil, fmt.Errorf("holder: fetch the circuit manifest: %w", err)
	}
	m, err := circuits.ParseManifest(manifestJSON)
	if err != nil {
		return nil, fmt.Errorf("%w: circuit manifest: %v", ErrFormat, err)
	}
	if m.CircuitID != circuitID {
		return nil, fmt.Errorf("holder: the issuer's circuit manifest is for circuit %s, the request and issuer metadata name %s", m.CircuitID, circuitID)
	}
	if m.Depth != info.meta.Depth {
		return nil, fmt.Errorf("holder: the circuit has depth %d, the issuer's tree %d", m.Depth, info.meta.Depth)
	}
	dir := filepath.Join(w.dir, circuitCache, circuitID)
	cached, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil || !bytes.Equal(cached, manifestJSON) {
		if err := fetchKeys(ctx, src, dir, manifestJSON); err != nil {
			return nil, err
		}
	}
	compiled, err := w.compiled(m.Depth, m.CircuitDigest)
	if err != nil {
		return nil, err
	}
	// Development keys are told by their content (their circuit id), not
	// by the manifest's label, so relabelled ones still get the warning.
	dev := circuits.IsDevelopmentCircuit(m.CircuitID)
	keys, err := circuits.Load(dir, compiled, circuits.LoadOptions{AllowDevelopment: dev, KeepUncompressed: true})
	if err != nil {
		return nil, fmt.Errorf("holder: the issuer's circuit keys: %w", err)
	}
	if keys.Manifest.CircuitID != circuitID {
		return nil, fmt.Errorf("holder: cached keys are for circuit %s, not %s", keys.Manifest.CircuitID, circuitID)
	}
	if dev {
		warn("the issuer publishes DEVELOPMENT circuit keys (public setup randomness) and the verifier asked for them: your privacy is unaffected, but such proofs can be forged, so they prove nothing to the verifier")
	}
	if w.keys == nil {
		w.keys = map[string]*circuits.Keys{}
	}
	w.keys[circuitID] = keys
	return keys, nil
}

// compiled returns the presentation circuit for depth, compiled once per
// Wallet, or read from the wallet's circuit cache when the copy there has
// digest, the manifest's circuit digest (circuits.Load checks the digest
// again, as for a fresh compile). The caller holds w.mu.
func (w *Wallet) compiled(depth int, digest string) (*circuits.Compiled, error) {
	if c := w.circuits[depth]; c != nil {
		return c, nil
	}
	c, err := circuits.CompileCached(depth, filepath.Join(w.dir, circuitCache), digest)
	if err != nil {
		return nil, fmt.Errorf("holder: compile the circuit: %w", err)
	}
	if w.circuits == nil {
		w.circuits = map[int]*circuits.Compiled{}
	}
	w.circuits[depth] = c
	return c, nil
}

// fetchKeys downloads the circuit keys into dir, the manifest last, so a
// crash never leaves a manifest over keys it does not describe.
func fetchKeys(ctx context.Context, src publication.Source, dir string, manifestJSON []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("holder: %w", err)
	}
	_ = os.Remove(filepath.Join(dir, "manifest.json"))
	for _, f := range []struct {
		name, file string
		limit      int64
	}{
		{publication.VerifyingKeyName, "verifying.key", publication.MaxVerifyingKeySize},
		{publication.ProvingKeyName, "proving.key", publication.MaxProvingKeySize},
	} {
		data, err := src.Get(ctx, f.name, f.limit)
		if err != nil {
			return fmt.Errorf("holder: fetch %s: %w", f.name, err)
		}
		if err := writeAtomic(filepath.Join(dir, f.file), data); err != nil {
			return err
		}
	}
	return writeAtomic(filepath.Join(dir, "manifest.json"), manifestJSON)
}

// MarshalPresentation encodes a presentation as the JSON the verifier reads.
func MarshalPresentation(p *Presentation) ([]byte, error) { return json.Marshal(p) }
