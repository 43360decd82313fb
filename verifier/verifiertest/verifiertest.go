// Package verifiertest provides what tests of a verifier need around it: an
// issuer publication written by a small in-test issuer (its accumulator, root
// statements, status list, issuer.json and development circuit keys), and
// holders that answer requests with real proofs and SD-JWT presentations.
//
// It plays the issuer and the holder so that verifier tests depend on neither
// package (a platform runs neither). It is for tests only: its keys and
// credentials are throwaway, and its circuit keys are development keys.
package verifiertest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/sdjwt"
	"github.com/yinzheng-id/yinzheng/verifier"
)

// IssuerID is the issuer identifier of the test publication.
const IssuerID = "https://issuer.test.example"

// StatusListURI is the status list URI of the test publication.
const StatusListURI = IssuerID + "/statuslist.jwt"

var (
	keysMu    sync.Mutex
	keysCache = map[int]*circuits.Keys{}
)

// DevelopmentKeys compiles the circuit at depth and runs the development
// setup once per test binary and depth.
func DevelopmentKeys(tb testing.TB, depth int) *circuits.Keys {
	tb.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	if k, ok := keysCache[depth]; ok {
		return k
	}
	c, err := circuits.Compile(depth)
	if err != nil {
		tb.Fatal(err)
	}
	k, err := circuits.DevelopmentSetup(c, nil)
	if err != nil {
		tb.Fatal(err)
	}
	keysCache[depth] = k
	return k
}

// Issuer is an issuer directory with its publication under Dir/public.
type Issuer struct {
	Dir   string
	Depth int
	Key   *jose.PrivateKey
	Keys  *circuits.Keys
	Meta  publication.Metadata
	store *revocation.Store
}

// NewIssuer creates an issuer directory in a temporary directory with a
// depth-depth accumulator and development keys, and publishes epoch 0 at now.
func NewIssuer(tb testing.TB, depth int, now time.Time) *Issuer {
	tb.Helper()
	return NewIssuerWithKeys(tb, DevelopmentKeys(tb, depth), now)
}

// NewIssuerWithKeys is NewIssuer with the given circuit keys (a ceremony's,
// say), at their depth.
func NewIssuerWithKeys(tb testing.TB, keys *circuits.Keys, now time.Time) *Issuer {
	tb.Helper()
	depth := keys.Manifest.Depth
	dir := tb.TempDir()
	key, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := keys.Save(filepath.Join(dir, "public", "circuit")); err != nil {
		tb.Fatal(err)
	}
	store, err := revocation.Open(filepath.Join(dir, "accumulator"), revocation.Options{Depth: depth, MemTableSize: 8 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	schemaID, err := schemas.SchemaID()
	if err != nil {
		tb.Fatal(err)
	}
	iss := &Issuer{Dir: dir, Depth: depth, Key: key, Keys: keys, store: store, Meta: publication.Metadata{
		Issuer: IssuerID, Suite: jose.SuiteGM, JWK: key.Public(), KeyID: key.Public().KeyID(), Depth: depth,
		CircuitID: keys.Manifest.CircuitID, SchemaID: schemaID, VCT: schemas.VCT, StatusListURI: StatusListURI,
	}}
	iss.WriteMetadata(tb)
	iss.Publish(tb, now)
	return iss
}

// Source returns a publication source reading this issuer's directory.
func (i *Issuer) Source() publication.Source { return publication.DirSource(i.Dir) }

// WriteMetadata writes i.Meta as issuer.json (tests edit Meta to break it).
func (i *Issuer) WriteMetadata(tb testing.TB) {
	tb.Helper()
	data, err := json.Marshal(&i.Meta)
	if err != nil {
		tb.Fatal(err)
	}
	i.WriteFile(tb, publication.IssuerName, data)
}

// WriteFile replaces a published file.
func (i *Issuer) WriteFile(tb testing.TB, name string, data []byte) {
	tb.Helper()
	p := filepath.Join(i.Dir, "public", filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// ReadFile returns a published file.
func (i *Issuer) ReadFile(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(i.Dir, "public", filepath.FromSlash(name)))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// Publish freezes the accumulator as a new epoch signed at now and writes
// its root statement (also as the latest) and the status list.
func (i *Issuer) Publish(tb testing.TB, now time.Time) *revocation.Epoch {
	tb.Helper()
	ep, err := i.store.Publish(i.Key, IssuerID, now)
	if err != nil {
		tb.Fatal(err)
	}
	i.WriteFile(tb, publication.RootName(ep.Epoch), []byte(ep.Statement))
	i.WriteFile(tb, publication.LatestRootName, []byte(ep.Statement))
	token, err := i.store.StatusListToken(i.Key, IssuerID, StatusListURI, now)
	if err != nil {
		tb.Fatal(err)
	}
	i.WriteFile(tb, publication.StatusListName, []byte(token))
	return ep
}

// Revoke revokes a serial; Publish makes it visible.
func (i *Issuer) Revoke(tb testing.TB, serial uint64) {
	tb.Helper()
	if err := i.store.Revoke(serial); err != nil {
		tb.Fatal(err)
	}
}

// Holder is a holder's credential in both forms.
type Holder struct {
	Attributes schemas.Attributes
	Secret     fr.Element
	Serial     uint64
	HolderKey  *jose.PrivateKey
	SDJWT      *sdjwt.SDJWT
	issuer     *Issuer
}

// Adult returns attributes of a person born on birth, level 3, valid until
// 2040.
func Adult(birth schemas.Date) schemas.Attributes {
	a := schemas.Attributes{
		Wanghao: "TESTWANGHAO01", Name: "张三", BirthDate: birth, DocType: schemas.ResidentID,
		Region: "110101", Level: 3, Expiry: schemas.Date{Year: 2040, Month: time.January, Day: 1},
	}
	a.Salt[0] = 1
	return a
}

// Issue appends a credential for attrs (issued at now) to the accumulator
// and signs its SD-JWT VC. Publish afterwards to prove against it.
func (i *Issuer) Issue(tb testing.TB, attrs schemas.Attributes, now time.Time) *Holder {
	tb.Helper()
	var secret fr.Element
	if _, err := secret.SetRandom(); err != nil {
		tb.Fatal(err)
	}
	packed, identity, err := attrs.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	cred := circuits.Credential{Attributes: packed, Identity: identity, Secret: secret}
	serial, err := i.store.Append(cred.Leaf())
	if err != nil {
		tb.Fatal(err)
	}
	holderKey, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		tb.Fatal(err)
	}
	claims, err := schemas.ClaimsFromAttributes(&attrs, schemas.DateOf(now))
	if err != nil {
		tb.Fatal(err)
	}
	specs, err := schemas.ClaimSpecs()
	if err != nil {
		tb.Fatal(err)
	}
	var disclosable []sdjwt.ClaimPath
	for _, s := range specs {
		if _, ok := claims[s.Name]; ok && s.Selective {
			disclosable = append(disclosable, sdjwt.ClaimPath{s.Name})
		}
	}
	sd, err := sdjwt.Issue(i.Key, claims, sdjwt.IssueOptions{
		Disclosable: disclosable, HolderKey: holderKey.Public(), Issuer: IssuerID,
		Status:   map[string]any{"status_list": map[string]any{"idx": serial, "uri": StatusListURI}},
		IssuedAt: now, Expiry: now.AddDate(1, 0, 0),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &Holder{Attributes: attrs, Secret: secret, Serial: serial, HolderKey: holderKey, SDJWT: sd, issuer: i}
}

// Pseudonym returns the holder's pseudonym for scope, computed natively.
func (h *Holder) Pseudonym(tb testing.TB, scope string) string {
	tb.Helper()
	s, err := schemas.ScopeElement(scope)
	if err != nil {
		tb.Fatal(err)
	}
	return zkhash.FormatElement(zkhash.Pseudonym(h.Secret, s))
}

// Statement builds the circuit statement of a request under root, on the
// holder's side (independently of package verifier).
func Statement(tb testing.TB, req *verifier.Request, root fr.Element) *circuits.Statement {
	tb.Helper()
	s := &circuits.Statement{Root: root, BornAfter: 0, BornBefore: schemas.MaxDateCode, MinLevel: uint8(req.MinLevel)}
	code := func(v string) uint32 {
		d, err := schemas.ParseDate(v)
		if err != nil {
			tb.Fatal(err)
		}
		c, err := d.Code()
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	s.Today = code(req.Today)
	if req.BornAfter != nil {
		s.BornAfter = code(*req.BornAfter)
	}
	if req.BornBefore != nil {
		s.BornBefore = code(*req.BornBefore)
	}
	for _, f := range req.Flags {
		switch f {
		case verifier.FlagGuardianConsent:
			s.RequiredFlags |= circuits.FlagGuardianConsent
		case verifier.FlagGuardianAcknowledgement:
			s.RequiredFlags |= circuits.FlagGuardianAcknowledgement
		}
	}
	var err error
	if s.Scope, err = schemas.ScopeElement(req.Scope); err != nil {
		tb.Fatal(err)
	}
	nonce, err := base64.RawURLEncoding.DecodeString(req.Nonce)
	if err != nil {
		tb.Fatal(err)
	}
	if s.Nonce, err = schemas.NonceElement(nonce); err != nil {
		tb.Fatal(err)
	}
	return s
}

// ProveStatement proves s with the holder's current path and returns the
// proof and pseudonym.
func (h *Holder) ProveStatement(tb testing.TB, s *circuits.Statement) (*circuits.Proof, fr.Element) {
	tb.Helper()
	return h.ProveStatementWith(tb, h.issuer.Keys, s)
}

// ProveStatementWith is ProveStatement with other circuit keys of the
// same depth (another setup: a proof the issuer's keys must refuse).
func (h *Holder) ProveStatementWith(tb testing.TB, keys *circuits.Keys, s *circuits.Statement) (*circuits.Proof, fr.Element) {
	tb.Helper()
	path, err := h.issuer.store.Path(h.Serial)
	if err != nil {
		tb.Fatal(err)
	}
	packed, identity, err := h.Attributes.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	cred := &circuits.Credential{Attributes: packed, Identity: identity, Secret: h.Secret, Serial: h.Serial, Siblings: path.Siblings}
	proof, pseudonym, err := keys.Prove(s, cred)
	if err != nil {
		tb.Fatal(err)
	}
	return proof, pseudonym
}

// Prove answers a zero-knowledge request against the accumulator's current
// root, which must be that of epoch, and returns the presentation.
func (h *Holder) Prove(tb testing.TB, req *verifier.Request, epoch uint64) *verifier.Presentation {
	tb.Helper()
	path, err := h.issuer.store.Path(h.Serial)
	if err != nil {
		tb.Fatal(err)
	}
	proof, pseudonym := h.ProveStatement(tb, Statement(tb, req, path.Root))
	raw, err := proof.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return &verifier.Presentation{
		Version: verifier.FormatVersion, Type: verifier.TypeZK, RequestID: req.ID,
		CircuitID: h.issuer.Keys.Manifest.CircuitID, Epoch: &epoch,
		Pseudonym: zkhash.FormatElement(pseudonym), Proof: base64.RawURLEncoding.EncodeToString(raw),
	}
}

// Present answers an SD-JWT request disclosing claims (nil: the requested
// ones) with a KB-JWT for audience and nonce (empty: the request's) signed
// at now. Without key binding (keyBound false) the KB-JWT is left out.
func (h *Holder) Present(tb testing.TB, req *verifier.Request, claims []string, audience, nonce string, keyBound bool, now time.Time) *verifier.Presentation {
	tb.Helper()
	if claims == nil && req.SDJWT != nil {
		claims = req.SDJWT.Claims
	}
	if audience == "" {
		audience = req.Audience
	}
	if nonce == "" {
		nonce = req.Nonce
	}
	paths := make([]sdjwt.ClaimPath, len(claims))
	for k, c := range claims {
		paths[k] = sdjwt.ClaimPath{c}
	}
	opts := sdjwt.PresentOptions{Audience: audience, Nonce: nonce, IssuedAt: now}
	if keyBound {
		opts.HolderKey = h.HolderKey
	}
	pres, err := sdjwt.Present(h.SDJWT, paths, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return &verifier.Presentation{Version: verifier.FormatVersion, Type: verifier.TypeSDJWT, RequestID: req.ID, SDJWT: pres.Compact()}
}

// JSON marshals a document for Verify.
func JSON(tb testing.TB, v any) []byte {
	tb.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// PublishAs publishes a new epoch signed with the issuer's key under another
// issuer name, without writing it anywhere, and returns its statement.
func (i *Issuer) PublishAs(tb testing.TB, issuer string, now time.Time) string {
	tb.Helper()
	ep, err := i.store.Publish(i.Key, issuer, now)
	if err != nil {
		tb.Fatal(err)
	}
	return ep.Statement
}

// Trust returns a trust pinning this issuer as it is now (its key and
// circuit id), with development keys allowed: the test publication's
// circuit keys are development keys.
func (i *Issuer) Trust() *verifier.Trust {
	return &verifier.Trust{Version: verifier.TrustVersion, Issuers: []verifier.TrustedIssuer{{
		Issuer: i.Meta.Issuer, Keys: []*jose.PublicKey{i.Key.Public()}, CircuitIDs: []string{i.Keys.Manifest.CircuitID},
		AllowDevelopmentKeys: true, CircuitBasis: "verifiertest development keys",
	}}}
}

// Pin writes Trust as the trust file of the verifier directory vdir.
func (i *Issuer) Pin(tb testing.TB, vdir string) {
	tb.Helper()
	if err := i.Trust().Write(vdir); err != nil {
		tb.Fatal(err)
	}
}

// FlakySource wraps a Source and fails every Get while Down is set: an
// issuer publication that is unreachable for a while.
type FlakySource struct {
	publication.Source
	mu   sync.Mutex
	down bool
}

// ErrDown is what a FlakySource returns while down.
var ErrDown = errors.New("verifiertest: publication unreachable")

// SetDown makes the source fail (true) or work again (false).
func (f *FlakySource) SetDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

// Get fails with ErrDown while the source is down.
func (f *FlakySource) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, fmt.Errorf("%w: %s", ErrDown, name)
	}
	return f.Source.Get(ctx, name, limit)
}
