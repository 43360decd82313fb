package holder

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/sdjwt"
)

// ErrBundle reports a bundle the wallet refuses; the message names the
// check that failed.
var ErrBundle = errors.New("holder: bundle refused")

// ErrPending reports a credential whose bundle was pending (issued between
// two epochs) and whose path no published epoch has completed yet: it cannot
// prove until Refresh finds the issuer's next epoch. Its SD-JWT copies can
// be presented meanwhile.
var ErrPending = errors.New("holder: the credential is pending, not yet under a signed root; run holder refresh after the issuer's next epoch")

// CredentialInfo describes a credential in the wallet, without secrets.
// Epoch is the epoch of the current path; for a pending credential
// (Pending), the epoch that will first cover it.
type CredentialInfo struct {
	Issuer       string `json:"issuer"`
	Serial       uint64 `json:"serial"`
	Epoch        uint64 `json:"epoch"`
	Pending      bool   `json:"pending,omitempty"`
	Revoked      bool   `json:"revoked"`
	CopiesLeft   int    `json:"sd_jwt_copies_left"`
	BirthDate    string `json:"birth_date"`
	Expiry       string `json:"expiry"`
	Level        int    `json:"level"`
	RevokedEpoch uint64 `json:"revoked_epoch,omitempty"`
}

func bundleErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBundle}, a...)...)
}

// Import checks a bundle and stores it. The issuer's metadata and key come
// from src, the issuer's own publication (never from the bundle): the root
// statement and every SD-JWT copy must carry the issuer's signature, every
// copy's cnf key must be one this wallet generated for a pending request,
// the SD-JWT claims must be the bundle's attributes, the leaf must be the
// one the attributes and this wallet's holder commitment give, and the path
// must lead from that leaf to the signed root.
//
// A pending bundle (Bundle.Pending: issued between two epochs) has no root
// statement yet. Import checks all the rest: the copies, the leaf, that the
// path leads from the leaf to the bundle's (unsigned) root, and that its
// epoch is the one after the issuer's latest signed epoch (or already
// published) with a serial beyond that epoch's leaf count. The credential
// is kept as pending: Refresh completes its path from the deltas, and Prove
// refuses it with ErrPending until then.
func (w *Wallet) Import(ctx context.Context, b *Bundle, src publication.Source) (*CredentialInfo, error) {
	infos, err := w.ImportAll(ctx, []*Bundle{b}, src)
	if err != nil {
		return nil, err
	}
	return &infos[0], nil
}

// ImportAll imports several bundles (each checked as Import does) and
// writes the wallet state once: all are imported, or none is (the error
// names the first bundle refused). Import rewrites the whole state for each
// bundle; ImportAll is for many at once, as after a re-issuance.
func (w *Wallet) ImportAll(ctx context.Context, bundles []*Bundle, src publication.Source) ([]CredentialInfo, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.st == nil {
		return nil, errClosed
	}
	// Keep what the state was: if a bundle is refused or saving fails
	// (ErrWalletFull), the wallet in memory stays what the file holds.
	oldIssuers, oldCreds, oldPending := w.st.Issuers, w.st.Credentials, slices.Clone(w.st.Pending)
	undo := func() { w.st.Issuers, w.st.Credentials, w.st.Pending = oldIssuers, oldCreds, oldPending }
	out := make([]CredentialInfo, 0, len(bundles))
	for i, b := range bundles {
		cred, err := w.importLocked(ctx, b, src)
		if err != nil {
			undo()
			if len(bundles) > 1 {
				return nil, fmt.Errorf("bundle %d of %d: %w", i+1, len(bundles), err)
			}
			return nil, err
		}
		out = append(out, cred.info())
	}
	if err := w.save(); err != nil {
		undo()
		return nil, err
	}
	return out, nil
}

// importLocked checks b and adds it to the state in memory; the caller
// holds w.mu and saves.
func (w *Wallet) importLocked(ctx context.Context, b *Bundle, src publication.Source) (*credential, error) {
	if b == nil {
		return nil, bundleErr("no bundle")
	}
	if b.Version != FormatVersion {
		return nil, bundleErr("version %d, this wallet reads %d", b.Version, FormatVersion)
	}
	info, err := w.issuerFor(ctx, src, b.Issuer)
	if err != nil {
		return nil, err
	}
	for _, c := range w.st.Credentials {
		if c.Issuer == b.Issuer && c.Serial == b.Serial {
			return nil, bundleErr("serial %d of %s is already in the wallet", b.Serial, b.Issuer)
		}
	}

	root, err := zkhash.ParseElement(b.Path.Root)
	if err != nil {
		return nil, bundleErr("path root: %v", err)
	}
	// The root statement: signed by the issuer, for the bundle's epoch and
	// root; or, for a pending bundle, none, and an epoch that fits the
	// issuer's latest signed one.
	var rs *revocation.RootStatement
	switch {
	case b.Pending && b.RootStatement != "":
		return nil, bundleErr("a pending bundle carries a root statement (pending means no signed root covers the path yet)")
	case b.Pending:
		if err := checkPendingEpoch(ctx, src, info, b); err != nil {
			return nil, err
		}
	default:
		if b.RootStatement == "" {
			return nil, bundleErr("no root statement, and the bundle is not marked pending")
		}
		if rs, err = verifyStatement(info, b.RootStatement); err != nil {
			return nil, bundleErr("root statement: %v", err)
		}
		switch {
		case rs.Epoch != b.Path.Epoch:
			return nil, bundleErr("the root statement is for epoch %d, the path for epoch %d", rs.Epoch, b.Path.Epoch)
		case !rs.Root.Equal(&root):
			return nil, bundleErr("the path's root is not the root the issuer signed for epoch %d", rs.Epoch)
		case b.Serial >= rs.LeafCount:
			return nil, bundleErr("serial %d is beyond the signed leaf count %d", b.Serial, rs.LeafCount)
		}
	}
	switch {
	case b.Path.Serial != b.Serial:
		return nil, bundleErr("the path is for serial %d, the bundle for serial %d", b.Path.Serial, b.Serial)
	case len(b.Path.Siblings) != zkhash.PathLength(info.meta.Depth):
		return nil, bundleErr("the path has %d siblings, the issuer's tree of depth %d needs %d", len(b.Path.Siblings), info.meta.Depth,
			zkhash.PathLength(info.meta.Depth))
	}
	siblings := make([]fr.Element, len(b.Path.Siblings))
	for i, s := range b.Path.Siblings {
		if siblings[i], err = zkhash.ParseElement(s); err != nil {
			return nil, bundleErr("path sibling %d: %v", i, err)
		}
	}

	// The zero-knowledge credential: the leaf is the attributes' leaf under
	// this wallet's commitment, and it sits under the signed root.
	attrs, err := bundleAttributes(b)
	if err != nil {
		return nil, err
	}
	packed, identity, err := attrs.Encode()
	if err != nil {
		return nil, bundleErr("zk attributes: %v", err)
	}
	if err := sameElement("zk.attributes", b.ZK.Attributes, packed, "the packed word of the bundle's attributes"); err != nil {
		return nil, err
	}
	if err := sameElement("zk.identity", b.ZK.Identity, identity, "the identity element of the bundle's attributes"); err != nil {
		return nil, err
	}
	leaf := zkhash.Leaf(zkhash.LeafTag(circuits.SchemaName), packed, w.HolderCommitment(), identity)
	if err := sameElement("zk.leaf", b.ZK.Leaf, leaf, "the leaf of the attributes and this wallet's holder commitment (the bundle is for another holder, or altered)"); err != nil {
		return nil, err
	}
	got, err := zkhash.RootFromPath(leaf, b.Serial, siblings)
	if err != nil {
		return nil, bundleErr("path: %v", err)
	}
	if !got.Equal(&root) {
		if b.Pending {
			return nil, bundleErr("the path does not lead from the leaf to the bundle's root (pending, epoch %d)", b.Path.Epoch)
		}
		return nil, bundleErr("the path does not lead from the leaf to the signed root of epoch %d", rs.Epoch)
	}

	// The SD-JWT copies: issuer-signed, bound to our pending keys, about
	// the same person and credential.
	pend, copies, err := w.checkCopies(b, info, attrs)
	if err != nil {
		return nil, err
	}

	siblingText := make([]string, len(siblings))
	for i := range siblings {
		siblingText[i] = zkhash.FormatElement(siblings[i])
	}
	rec := &pathRec{Epoch: b.Path.Epoch, Root: zkhash.FormatElement(root), Leaf: zkhash.FormatElement(leaf),
		Siblings: siblingText, Statement: b.RootStatement, Pending: b.Pending}
	if rs != nil {
		rec.LeafCount = rs.LeafCount
	}
	cred := &credential{
		Issuer:   b.Issuer,
		Serial:   b.Serial,
		Wanghao:  b.Wanghao,
		Imported: w.now().UTC(),
		ZK:       b.ZK,
		Copies:   copies,
		Paths:    []*pathRec{rec},
	}
	if w.pinned(info.meta.Issuer) == nil {
		jwk, err := info.key.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("holder: %w", err)
		}
		w.st.Issuers = append(w.st.Issuers, &pinnedIssuer{
			Issuer: info.meta.Issuer, JWK: jwk, KID: info.key.KeyID(),
			Depth: info.meta.Depth, CircuitID: info.meta.CircuitID,
		})
	}
	w.st.Credentials = append(w.st.Credentials, cred)
	w.st.Pending = removePending(w.st.Pending, pend)
	return cred, nil
}

// checkPendingEpoch checks a pending bundle's epoch against the issuer's
// latest signed root: the bundle's path is under the tree being built, so
// its epoch is the one after the latest (or, if the issuer has published
// since, an earlier one), never a later one; and while it is the next one,
// its serial was appended after the latest epoch, so it is not below that
// epoch's leaf count.
func checkPendingEpoch(ctx context.Context, src publication.Source, info *issuerInfo, b *Bundle) error {
	latest, _, err := latestStatement(ctx, src, info)
	if err != nil {
		return err
	}
	switch {
	case b.Path.Epoch == 0:
		return bundleErr("a pending path for epoch 0 (epochs count from 1)")
	case b.Path.Epoch > latest.Epoch+1:
		return bundleErr("a pending path for epoch %d, but the issuer's latest signed epoch is %d: only epoch %d can be pending", b.Path.Epoch, latest.Epoch, latest.Epoch+1)
	case b.Path.Epoch == latest.Epoch+1 && b.Serial < latest.LeafCount:
		return bundleErr("serial %d is pending in epoch %d, but the signed epoch %d already counts %d leaves", b.Serial, b.Path.Epoch, latest.Epoch, latest.LeafCount)
	}
	return nil
}

// attributes rebuilds the schema attributes from the bundle.
func bundleAttributes(b *Bundle) (*schemas.Attributes, error) {
	z := b.ZK
	birth, err := schemas.ParseDate(z.BirthDate)
	if err != nil {
		return nil, bundleErr("zk.birth_date: %v", err)
	}
	expiry, err := schemas.ParseDate(z.Expiry)
	if err != nil {
		return nil, bundleErr("zk.expiry: %v", err)
	}
	doc, err := schemas.ParseDocType(z.DocType)
	if err != nil {
		return nil, bundleErr("zk.doc_type: %v", err)
	}
	if z.Level < schemas.MinLevel || z.Level > schemas.MaxLevel {
		return nil, bundleErr("zk.level %d outside %d…%d", z.Level, schemas.MinLevel, schemas.MaxLevel)
	}
	salt, err := base64.RawURLEncoding.Strict().DecodeString(z.Salt)
	if err != nil || len(salt) != schemas.SaltBytes {
		return nil, bundleErr("zk.salt is not %d bytes of base64url", schemas.SaltBytes)
	}
	a := &schemas.Attributes{
		Wanghao: b.Wanghao, Name: z.Name, BirthDate: birth, DocType: doc, Region: z.Region,
		Level: uint8(z.Level), GuardianConsent: z.GuardianConsent,
		GuardianAcknowledgement: z.GuardianAcknowledgement, Expiry: expiry,
	}
	copy(a.Salt[:], salt)
	if err := a.Validate(); err != nil {
		return nil, bundleErr("zk attributes: %v", err)
	}
	return a, nil
}

func sameElement(field, text string, want fr.Element, what string) error {
	got, err := zkhash.ParseElement(text)
	if err != nil {
		return bundleErr("%s: %v", field, err)
	}
	if !got.Equal(&want) {
		return bundleErr("%s is not %s", field, what)
	}
	return nil
}

// checkCopies verifies every SD-JWT copy and matches its cnf key to one
// pending request. The caller holds w.mu.
func (w *Wallet) checkCopies(b *Bundle, info *issuerInfo, attrs *schemas.Attributes) (*pending, []*sdCopy, error) {
	if len(b.SDJWT) == 0 {
		return nil, nil, bundleErr("no SD-JWT copies")
	}
	var pend *pending
	var pendKeys []*jose.PrivateKey
	used := map[int]bool{}
	indices := map[uint64]int{}
	copies := make([]*sdCopy, 0, len(b.SDJWT))
	for i, compact := range b.SDJWT {
		if err := checkCanonicalCopy(compact); err != nil {
			return nil, nil, fmt.Errorf("%w: %w: sd_jwt[%d]: %v", ErrBundle, ErrCopyForm, i, err)
		}
		v := sdjwt.Verifier{IssuerKey: info.key, Now: w.now}
		res, err := v.Verify([]byte(compact))
		if err != nil {
			return nil, nil, bundleErr("sd_jwt[%d]: %v", i, err)
		}
		if res.HolderKey == nil {
			return nil, nil, bundleErr("sd_jwt[%d] has no cnf holder key", i)
		}
		if pend == nil {
			if pend, pendKeys = w.findPending(res.HolderKey); pend == nil {
				return nil, nil, bundleErr("sd_jwt[%d]: its cnf key is not one this wallet generated (no pending holder request has it)", i)
			}
			if len(b.SDJWT) != len(pendKeys) {
				return nil, nil, bundleErr("%d SD-JWT copies for a request of %d keys", len(b.SDJWT), len(pendKeys))
			}
		}
		k := -1
		for j, pk := range pendKeys {
			if pk.Public().Equal(res.HolderKey) {
				k = j
			}
		}
		switch {
		case k < 0:
			return nil, nil, bundleErr("sd_jwt[%d]: its cnf key is not from the same holder request as the other copies", i)
		case used[k]:
			return nil, nil, bundleErr("sd_jwt[%d]: its cnf key is already bound to another copy (copies would link)", i)
		}
		used[k] = true
		idx, err := checkClaims(res.Claims, b, attrs)
		if err != nil {
			return nil, nil, bundleErr("sd_jwt[%d]: %v", i, err)
		}
		if j, dup := indices[idx]; dup {
			return nil, nil, bundleErr("sd_jwt[%d] has the status index of sd_jwt[%d] (copies would link)", i, j)
		}
		indices[idx] = i
		copies = append(copies, &sdCopy{SDJWT: compact, Key: pend.Keys[k]})
	}
	return pend, copies, nil
}

// ErrCopyForm reports an SD-JWT copy of a bundle that is not in the
// canonical compact form <JWT>~<D1>~…~<DN>~ that Present parses and
// re-serialises: the verifier's parser is lenient (it trims white space),
// so such a copy would be imported and could never be presented.
var ErrCopyForm = errors.New("holder: SD-JWT copy not in canonical compact form")

// checkCanonicalCopy accepts exactly the copies sdjwt.ParseCompact reads
// back to the same string, without a key binding JWT (the holder adds it).
func checkCanonicalCopy(compact string) error {
	sd, err := sdjwt.ParseCompact(compact)
	switch {
	case err != nil:
		return err
	case sd.KeyBinding != "":
		return errors.New("it ends in a key binding JWT or other text after the last '~'")
	case sd.Compact() != compact:
		return errors.New("it does not re-serialise to itself")
	}
	return nil
}

// findPending returns the pending request holding key, with its keys parsed.
func (w *Wallet) findPending(key *jose.PublicKey) (*pending, []*jose.PrivateKey) {
	for _, p := range w.st.Pending {
		keys := make([]*jose.PrivateKey, 0, len(p.Keys))
		found := false
		for _, raw := range p.Keys {
			k, err := jose.ParsePrivateJWK(raw)
			if err != nil {
				break
			}
			keys = append(keys, k)
			found = found || k.Public().Equal(key)
		}
		if found && len(keys) == len(p.Keys) {
			return p, keys
		}
	}
	return nil, nil
}

func removePending(list []*pending, p *pending) []*pending {
	out := list[:0]
	for _, q := range list {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}

// ageClaims are the claims computed from the birth date on the day of
// issuance; they are checked separately because the issuer's day may be
// the day before or after the wallet's reading of iat.
var ageClaims = []string{schemas.ClaimAgeOver14, schemas.ClaimAgeOver18, schemas.ClaimAgeOver60}

// checkClaims compares the processed (fully disclosed) claims of a copy with
// the bundle and returns the copy's status index.
func checkClaims(claims map[string]any, b *Bundle, attrs *schemas.Attributes) (uint64, error) {
	if iss, _ := claims["iss"].(string); iss != b.Issuer {
		return 0, fmt.Errorf("iss %q, the bundle is from %q", claims["iss"], b.Issuer)
	}
	idx, err := statusIndex(claims["status"])
	if err != nil {
		return 0, err
	}
	iat, err := numericDate(claims["iat"])
	if err != nil {
		return 0, fmt.Errorf("iat: %v", err)
	}
	personal := map[string]any{}
	for k, v := range claims {
		switch k {
		case "iss", "iat", "exp", "nbf", "cnf", "status":
		default:
			personal[k] = v
		}
	}
	if err := schemas.ValidateClaims(claims); err != nil {
		return 0, fmt.Errorf("claims: %v", err)
	}
	// iat is the start of the day of issuance in China time (the issuer
	// coarsens it so that it says nothing per credential).
	issued := schemas.DateOf(iat.In(schemas.ChinaTime))
	want, err := schemas.ClaimsFromAttributes(attrs, issued)
	if err != nil {
		return 0, fmt.Errorf("the attributes were not valid on the day of issuance %s: %v", issued, err)
	}
	for _, name := range slices.Sorted(maps.Keys(want)) { // sorted: a bad bundle always names the same claim
		if isAgeClaim(name) {
			continue
		}
		if err := sameJSON(name, personal[name], want[name]); err != nil {
			return 0, err
		}
	}
	for _, name := range ageClaims {
		got, present := personal[name]
		if !present {
			continue
		}
		if !ageClaimFits(name, got, attrs.BirthDate, iat) {
			return 0, fmt.Errorf("claim %s does not follow from the birth date on the day of issuance", name)
		}
	}
	return idx, nil
}

func isAgeClaim(name string) bool {
	for _, a := range ageClaims {
		if a == name {
			return true
		}
	}
	return false
}

// ageClaimFits reports whether an age claim is right on the day of iat in
// some time zone (the day before, of or after iat's UTC day).
func ageClaimFits(name string, got any, birth schemas.Date, iat time.Time) bool {
	n := map[string]int{schemas.ClaimAgeOver14: 14, schemas.ClaimAgeOver18: 18, schemas.ClaimAgeOver60: 60}[name]
	for _, d := range []int{-1, 0, 1} {
		day := schemas.DateOf(iat.UTC().AddDate(0, 0, d))
		if got == (schemas.AgeAt(birth, day) >= n) {
			return true
		}
	}
	return false
}

func sameJSON(name string, got, want any) error {
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	if err1 != nil || err2 != nil || string(g) != string(w) {
		// The values are personal data: the message names the claim only.
		return fmt.Errorf("claim %s differs from the bundle's attributes", name)
	}
	return nil
}

// statusIndex reads status.status_list.idx. Each copy has an index of its
// own, drawn at random by the issuer (not the serial): checkCopies refuses
// two copies with one index.
func statusIndex(v any) (uint64, error) {
	st, _ := v.(map[string]any)
	sl, _ := st["status_list"].(map[string]any)
	idx, err := uintClaim(sl["idx"])
	if err != nil {
		return 0, fmt.Errorf("status.status_list.idx: %v", err)
	}
	return idx, nil
}

func uintClaim(v any) (uint64, error) {
	var text string
	switch n := v.(type) {
	case json.Number:
		text = n.String()
	case float64:
		text = fmt.Sprint(n)
	case nil:
		return 0, errors.New("missing")
	default:
		return 0, fmt.Errorf("not a number: %v", v)
	}
	var x uint64
	if _, err := fmt.Sscan(text, &x); err != nil || strings.ContainsAny(text, ".eE-+") {
		return 0, fmt.Errorf("not a non-negative integer: %s", text)
	}
	return x, nil
}

func numericDate(v any) (time.Time, error) {
	x, err := uintClaim(v)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(int64(x), 0), nil
}

// info describes c. The caller holds w.mu.
func (c *credential) info() CredentialInfo {
	left := 0
	for _, cp := range c.Copies {
		if cp.ShownAt == nil {
			left++
		}
	}
	ci := CredentialInfo{
		Issuer: c.Issuer, Serial: c.Serial, CopiesLeft: left,
		BirthDate: c.ZK.BirthDate, Expiry: c.ZK.Expiry, Level: c.ZK.Level,
	}
	if p := c.current(); p != nil {
		ci.Epoch, ci.Pending = p.Epoch, p.Pending
	}
	if c.Revoked != nil {
		ci.Revoked, ci.RevokedEpoch = true, c.Revoked.Epoch
	}
	return ci
}

// current returns the newest path, or nil.
func (c *credential) current() *pathRec {
	if len(c.Paths) == 0 {
		return nil
	}
	return c.Paths[len(c.Paths)-1]
}

// Credentials lists the wallet's credentials.
func (w *Wallet) Credentials() []CredentialInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.st == nil {
		return nil
	}
	out := make([]CredentialInfo, 0, len(w.st.Credentials))
	for _, c := range w.st.Credentials {
		out = append(out, c.info())
	}
	return out
}
