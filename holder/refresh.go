package holder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// Witness refresh parameters.
const (
	// MaxDeltas is the most delta files (epoch deltas and span deltas,
	// revocation.SpanLevels) the wallet fetches to catch up; further behind,
	// it fetches a bucket instead. With spans of 2^12, 2^6 and 2^3 epochs a
	// wallet needs fewer than 140 files plus one per 2^12 epochs: at one
	// epoch a minute, 256 files reach back about a year
	// (TestRefreshFallbackSimulation).
	MaxDeltas = 256
	// BucketK sizes the bucket fallback, in tree levels: the wallet asks
	// for the bucket by its number (revocation.BucketIndex), so the issuer
	// learns that the holder is one of the 4^BucketK = 256 serials of that
	// bucket (fewer in the last, partly issued bucket).
	BucketK = 4
)

// ErrRevoked reports a credential whose leaf the issuer has emptied.
var ErrRevoked = errors.New("holder: the credential has been revoked by its issuer")

// RefreshReport says what Refresh did for one credential.
type RefreshReport struct {
	Issuer     string `json:"issuer"`
	Serial     uint64 `json:"serial"`
	FromEpoch  uint64 `json:"from_epoch"`
	ToEpoch    uint64 `json:"to_epoch"`
	Deltas     int    `json:"deltas"`
	UsedBucket bool   `json:"used_bucket"`
	Revoked    bool   `json:"revoked"`
	// Pending says the credential is still pending after the refresh: the
	// issuer has not yet published the epoch that covers it.
	Pending bool   `json:"pending,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Refresh brings the path of every credential of src's issuer up to the
// issuer's latest signed root. It downloads the epoch deltas every holder
// downloads alike (so the issuer cannot tell whose path is being kept
// fresh), and only when a delta is missing or the wallet is more than
// MaxDeltas epochs behind, the bucket of 4^BucketK leaves around the serial.
// A credential whose leaf is now empty is marked revoked and reported.
//
// A pending credential (its bundle's path taken between two epochs) is
// completed the same way once its epoch E is published: the deltas of E up
// to the latest, E's delta replacing every sibling changed during E, before
// or after the issuance. Until then it stays pending (RefreshReport.Pending).
func (w *Wallet) Refresh(ctx context.Context, src publication.Source) ([]RefreshReport, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.st == nil {
		return nil, errClosed
	}
	info, err := fetchIssuer(ctx, src)
	if err != nil {
		return nil, err
	}
	if w.pinned(info.meta.Issuer) == nil {
		return nil, fmt.Errorf("holder: the wallet holds no credential of %s", info.meta.Issuer)
	}
	if err := w.checkPinned(info); err != nil {
		return nil, err
	}
	return w.refreshIssuerLocked(ctx, src, info)
}

// refreshOne updates one credential to the latest root. The caller holds w.mu.
func (w *Wallet) refreshOne(ctx context.Context, src publication.Source, info *issuerInfo, c *credential, latest *revocation.RootStatement, latestJWS string) (RefreshReport, error) {
	cur := c.current()
	// first is the first epoch whose delta the path needs: a verified path
	// is at the end of its epoch, a pending one inside its epoch.
	first := cur.Epoch + 1
	if cur.Pending {
		first = cur.Epoch
	}
	r := RefreshReport{Issuer: c.Issuer, Serial: c.Serial, FromEpoch: first - 1, ToEpoch: first - 1, Revoked: c.Revoked != nil, Pending: cur.Pending}
	switch {
	case c.Revoked != nil:
		r.Note = fmt.Sprintf("revoked at epoch %d", c.Revoked.Epoch)
		return r, nil
	case cur.Pending && latest.Epoch+1 == cur.Epoch:
		r.Note = fmt.Sprintf("pending: waiting for the issuer to publish epoch %d", cur.Epoch)
		return r, nil
	case cur.Pending && latest.Epoch+1 < cur.Epoch:
		return r, fmt.Errorf("the issuer's latest epoch %d is older than the epoch %d the credential was issued after (a rolled-back or stale publication)", latest.Epoch, cur.Epoch-1)
	case cur.Pending:
	case latest.Epoch == cur.Epoch:
		curRoot, err := zkhash.ParseElement(cur.Root)
		if err != nil || !curRoot.Equal(&latest.Root) {
			return r, fmt.Errorf("the issuer signed two roots for epoch %d", cur.Epoch)
		}
		return r, nil
	case latest.Epoch < cur.Epoch:
		return r, fmt.Errorf("the issuer's latest epoch %d is older than the wallet's %d (a rolled-back or stale publication)", latest.Epoch, cur.Epoch)
	}
	path, err := cur.toPath(c.Serial)
	if err != nil {
		return r, err
	}
	var deltaErr error
	var grace []*pathRec
	if n := len(deltaFiles(refreshPlan(first, latest.Epoch))); n > MaxDeltas {
		deltaErr = fmt.Errorf("%d delta files behind even with every span (more than %d)", n, MaxDeltas)
	} else {
		path, grace, r.Deltas, deltaErr = catchUp(ctx, src, info, path, first, latest)
	}
	if deltaErr != nil {
		bpath, err := fetchBucketPath(ctx, src, c.Serial, latest)
		if err != nil {
			return r, fmt.Errorf("cannot refresh from deltas (%v) nor from a bucket (%v)", deltaErr, err)
		}
		path, r.UsedBucket, grace = bpath, true, nil
		r.Note = fmt.Sprintf("deltas unusable (%v); used the bucket of 4^%d leaves", deltaErr, BucketK)
	}
	if !path.Root.Equal(&latest.Root) {
		return r, fmt.Errorf("the refreshed path does not lead to the signed root of epoch %d", latest.Epoch)
	}
	ourLeaf, err := zkhash.ParseElement(cur.Leaf)
	if err != nil {
		return r, fmt.Errorf("stored leaf: %w", err)
	}
	switch {
	case path.Leaf.IsZero():
		c.Revoked = &revokedRec{Epoch: latest.Epoch, Seen: w.now().UTC()}
		r.Revoked = true
		r.Note = fmt.Sprintf("the issuer revoked serial %d (its leaf is empty at epoch %d)", c.Serial, latest.Epoch)
	case !path.Leaf.Equal(&ourLeaf):
		return r, fmt.Errorf("the issuer's tree holds another leaf at serial %d", c.Serial)
	}
	if cur.Pending {
		c.Paths = nil // the unsigned path is not one to prove under
	}
	c.Paths = append(c.Paths, grace...)
	c.Paths = append(c.Paths, fromPath(path, latest.Epoch, latestJWS))
	if len(c.Paths) > pathHistory {
		c.Paths = c.Paths[len(c.Paths)-pathHistory:]
	}
	r.ToEpoch, r.Pending = latest.Epoch, false
	return r, nil
}

// catchUp brings p from epoch first-1 (or from inside epoch first) to
// latest, and returns on the way the paths of the publication.EpochGrace
// epochs before latest that p had not reached yet: Prove answers under the
// latest or one of those, so after any refresh by deltas the wallet holds a
// path for each of them, whatever its refresh history.
func catchUp(ctx context.Context, src publication.Source, info *issuerInfo, p *revocation.Path, first uint64, latest *revocation.RootStatement) (*revocation.Path, []*pathRec, int, error) {
	var grace []*pathRec
	n := 0
	for e := latest.Epoch - min(publication.EpochGrace, latest.Epoch); e < latest.Epoch; e++ {
		if e < first || e == 0 {
			continue // the path is past it already (the wallet keeps that path)
		}
		jws, err := src.Get(ctx, publication.RootName(e), limitSmall)
		if err != nil {
			return nil, nil, n, fmt.Errorf("root of epoch %d: %w", e, err)
		}
		st, err := verifyStatement(info, string(jws))
		if err != nil {
			return nil, nil, n, fmt.Errorf("root of epoch %d: %w", e, err)
		}
		if st.Epoch != e {
			return nil, nil, n, fmt.Errorf("the file of epoch %d holds the root of epoch %d", e, st.Epoch)
		}
		q, k, err := applyDeltas(ctx, src, p, first, st, MaxDeltas-n)
		n += k
		if err != nil {
			return nil, nil, n, err
		}
		if !q.Root.Equal(&st.Root) {
			return nil, nil, n, fmt.Errorf("the refreshed path does not lead to the signed root of epoch %d", e)
		}
		p, first = q, e+1
		grace = append(grace, fromPath(p, e, string(jws)))
	}
	q, k, err := applyDeltas(ctx, src, p, first, latest, MaxDeltas-n)
	return q, grace, n + k, err
}

// applyDeltas brings p from epoch first-1 (or from inside epoch first, for
// a pending path) to latest.Epoch: by the largest published span that holds
// the next epoch and ends by the latest (revocation.SpanLevels), else by the
// next epoch's delta, in at most budget files.
func applyDeltas(ctx context.Context, src publication.Source, p *revocation.Path, first uint64, latest *revocation.RootStatement, budget int) (*revocation.Path, int, error) {
	n := 0
	unusable := map[string]bool{} // spans tried and passed over
	for e := first; e <= latest.Epoch; e++ {
		if n >= budget {
			return nil, n, fmt.Errorf("more than %d delta files behind", MaxDeltas)
		}
		if q, end, ok := applySpan(ctx, src, p, e, latest.Epoch, unusable); ok {
			p, e = q, end
			n++
			continue
		}
		data, err := src.Get(ctx, publication.DeltaName(e), publication.MaxDeltaSize)
		if err != nil {
			return nil, n, fmt.Errorf("delta of epoch %d: %w", e, err)
		}
		d, err := decodeDelta(data)
		if err != nil {
			return nil, n, fmt.Errorf("delta of epoch %d: %w", e, err)
		}
		if d.Epoch != e {
			return nil, n, fmt.Errorf("the file of epoch %d holds the delta of epoch %d", e, d.Epoch)
		}
		if p, err = revocation.UpdatePath(p, d); err != nil {
			return nil, n, err
		}
		n++
	}
	return p, n, nil
}

// applySpan applies the largest span that holds epoch and ends by latest,
// and returns its last epoch. A span that is missing, malformed or does not
// bring the path to its root is passed over: the finer files decide.
func applySpan(ctx context.Context, src publication.Source, p *revocation.Path, epoch, latest uint64, unusable map[string]bool) (*revocation.Path, uint64, bool) {
	for _, level := range revocation.SpanLevels {
		i := revocation.SpanIndex(epoch, level)
		end := revocation.SpanEnd(i, level)
		name := publication.SpanName(level, i)
		if end > latest || end == epoch || unusable[name] {
			continue // not published yet, no better than the epoch's delta, or tried
		}
		q, err := fetchSpan(ctx, src, name, p, end)
		if err != nil {
			unusable[name] = true
			continue
		}
		return q, end, true
	}
	return nil, 0, false
}

// fetchSpan fetches the span called name, which ends at epoch end, and
// applies it to p.
func fetchSpan(ctx context.Context, src publication.Source, name string, p *revocation.Path, end uint64) (*revocation.Path, error) {
	data, err := src.Get(ctx, name, publication.MaxDeltaSize)
	if err != nil {
		return nil, err
	}
	d, err := decodeDelta(data)
	if err != nil {
		return nil, err
	}
	if d.Epoch != end {
		return nil, fmt.Errorf("the span %s ends at epoch %d, not %d", name, d.Epoch, end)
	}
	return revocation.UpdatePath(p, d)
}

// refreshPlan returns the files catchUp fetches to go from epoch first-1
// (or from inside epoch first) to latest when the issuer has published
// every span: the root statements of the grace epochs it passes, and the
// deltas by deltaPlan to each grace epoch in turn, then to latest. The
// refresh simulation counts them.
func refreshPlan(first, latest uint64) []string {
	var out []string
	for e := latest - min(publication.EpochGrace, latest); e < latest; e++ {
		if e < first || e == 0 {
			continue
		}
		out = append(out, publication.RootName(e))
		out = append(out, deltaPlan(first, e)...)
		first = e + 1
	}
	return append(out, deltaPlan(first, latest)...)
}

// deltaFiles drops the root statements from a refresh plan: MaxDeltas
// counts delta files.
func deltaFiles(plan []string) []string {
	return slices.DeleteFunc(plan, func(n string) bool { return strings.HasPrefix(n, "roots/") })
}

// deltaPlan returns the files applyDeltas fetches to go from epoch first-1
// (or from inside epoch first) to latest when the issuer has published
// every span: the largest span that holds the next epoch and ends by latest,
// else the next epoch's delta.
func deltaPlan(first, latest uint64) []string {
	var out []string
	for e := first; e <= latest; e++ {
		name := publication.DeltaName(e)
		for _, level := range revocation.SpanLevels {
			i := revocation.SpanIndex(e, level)
			if end := revocation.SpanEnd(i, level); end <= latest && end != e {
				name, e = publication.SpanName(level, i), end
				break
			}
		}
		out = append(out, name)
	}
	return out
}

// decodeDelta reads a published delta: revocation's binary encoding, or its
// JSON form when the delta type provides one (the first byte tells them
// apart: the binary form opens with the magic "YZRD").
func decodeDelta(data []byte) (*revocation.Delta, error) {
	d := new(revocation.Delta)
	if len(data) > 0 && data[0] == '{' {
		u, ok := any(d).(json.Unmarshaler)
		if !ok {
			return nil, errors.New("a JSON delta, but this build reads only the binary form")
		}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, err
		}
		return d, nil
	}
	if err := d.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	return d, nil
}

// fetchBucketPath rebuilds the path from the bucket around serial; the
// bucket must be of the latest signed root.
func fetchBucketPath(ctx context.Context, src publication.Source, serial uint64, latest *revocation.RootStatement) (*revocation.Path, error) {
	data, err := src.Get(ctx, publication.BucketName(BucketK, revocation.BucketIndex(serial, BucketK)), publication.MaxBucketSize)
	if err != nil {
		return nil, err
	}
	b := new(revocation.Bucket)
	if err := b.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	if b.K != BucketK {
		return nil, fmt.Errorf("bucket of 4^%d leaves, asked for 4^%d", b.K, BucketK)
	}
	if !b.Root.Equal(&latest.Root) {
		return nil, fmt.Errorf("the bucket is not of the signed root of epoch %d (the issuer published meanwhile; retry)", latest.Epoch)
	}
	return revocation.PathFromBucket(b, serial)
}

// toPath returns the stored path as a revocation.Path.
func (p *pathRec) toPath(serial uint64) (*revocation.Path, error) {
	out := &revocation.Path{Serial: serial, LeafCount: p.LeafCount, Siblings: make([]fr.Element, len(p.Siblings))}
	var err error
	if out.Leaf, err = zkhash.ParseElement(p.Leaf); err != nil {
		return nil, fmt.Errorf("stored leaf: %w", err)
	}
	if out.Root, err = zkhash.ParseElement(p.Root); err != nil {
		return nil, fmt.Errorf("stored root: %w", err)
	}
	for i, s := range p.Siblings {
		if out.Siblings[i], err = zkhash.ParseElement(s); err != nil {
			return nil, fmt.Errorf("stored sibling %d: %w", i, err)
		}
	}
	return out, nil
}

func fromPath(p *revocation.Path, epoch uint64, statement string) *pathRec {
	rec := &pathRec{
		Epoch: epoch, Root: zkhash.FormatElement(p.Root), Leaf: zkhash.FormatElement(p.Leaf),
		LeafCount: p.LeafCount, Siblings: make([]string, len(p.Siblings)), Statement: statement,
	}
	for i := range p.Siblings {
		rec.Siblings[i] = zkhash.FormatElement(p.Siblings[i])
	}
	return rec
}
