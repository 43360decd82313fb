package issuer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/yinzheng-id/yinzheng/internal/storelock"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// ErrRolledBack means a store of the issuer directory is behind what was
// already published or delivered: the accumulator has fewer serials than
// the person database recorded as handed out, fewer epochs than public/
// holds signed, a different statement for an epoch already published, or a
// revocation the published status list shows is missing. Opening anyway
// would re-issue serials or re-sign epoch numbers that holders and
// verifiers already rely on, so Open refuses; the message says which store
// is behind. Restore the whole issuer directory from one backup (taken with
// the service stopped), not one store from another day.
var ErrRolledBack = errors.New("issuer: a store is behind what was published or delivered")

// publishCommitted, when set by a test, runs after the accumulator has
// committed a new epoch and before any of its public files is written: it
// stands for a crash at the worst moment of Publish.
var publishCommitted func() error

// restoreHint ends every ErrRolledBack message.
const restoreHint = "restore the whole issuer directory from a backup taken after that point, with the service stopped"

// cleanTemp removes the temporary files interrupted atomic writes left in
// the directories writeFileAtomic writes to. The caller holds both stores'
// locks, so no other writer of this directory is mid-write.
func cleanTemp(dir string) error {
	dirs := []string{dir, filepath.Join(dir, privateDir), filepath.Join(dir, publicDir)}
	for _, sub := range []string{"roots", "deltas", circuitDir} {
		dirs = append(dirs, filepath.Join(dir, publicDir, sub))
	}
	for _, d := range dirs {
		if err := storelock.CleanTemp(d, ".tmp-*"); err != nil {
			return fmt.Errorf("issuer: %w", err)
		}
	}
	return nil
}

// checkStores compares the accumulator with what the other stores say was
// delivered or published, and refuses a rollback with ErrRolledBack. It
// reads the person database's mark of delivered serials and every root
// statement in public/ that verifies under the issuer key (a file name or
// an unsigned file proves nothing). It changes nothing.
func (iss *Issuer) checkStores(history []*revocation.Epoch) error {
	leaves, err := iss.acc.LeafCount()
	if err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	issued, err := issuedSerials(iss.db)
	if err != nil {
		return err
	}
	if leaves < issued {
		return fmt.Errorf("%w: the accumulator (%s/) holds %d serials but the person database recorded serial %d as delivered; %s",
			ErrRolledBack, accumulatorDir, leaves, issued-1, restoreHint)
	}
	var latest uint64
	if len(history) > 0 {
		latest = history[len(history)-1].Epoch
	}
	byEpoch := make(map[uint64]string, len(history))
	for _, e := range history {
		byEpoch[e.Epoch] = e.Statement
	}
	check := func(name string, epoch uint64) error {
		data, err := os.ReadFile(iss.publicPath(name))
		if err != nil {
			return nil // missing or unreadable: repairPublic rewrites what it should
		}
		if st := byEpoch[epoch]; st != "" && st == string(data) {
			// The accumulator's own statement: nothing to verify, so an
			// open costs no signature check per past epoch.
			return nil
		}
		rs, err := revocation.VerifyRootStatement(string(data), iss.key.Public())
		if err != nil || rs.Issuer != iss.meta.Issuer {
			return nil // not a statement of ours: proves nothing
		}
		if rs.Epoch > latest {
			return fmt.Errorf("%w: public/%s is the signed root of epoch %d, the accumulator's latest epoch is %d; %s",
				ErrRolledBack, name, rs.Epoch, latest, restoreHint)
		}
		if rs.LeafCount > leaves {
			return fmt.Errorf("%w: public/%s signs %d serials, the accumulator holds %d; %s",
				ErrRolledBack, name, rs.LeafCount, leaves, restoreHint)
		}
		if st := byEpoch[rs.Epoch]; st != "" && st != string(data) {
			return fmt.Errorf("%w: public/%s is another signed root for epoch %d than the accumulator's (the epoch was re-signed after a rollback); %s",
				ErrRolledBack, name, rs.Epoch, restoreHint)
		}
		return nil
	}
	epochs, err := publishedRoots(filepath.Join(iss.dir, publicDir, "roots"))
	if err != nil {
		return err
	}
	for _, e := range epochs {
		if err := check(publication.RootName(e), e); err != nil {
			return err
		}
	}
	if err := check(publication.LatestRootName, latest); err != nil {
		return err
	}
	if err := iss.checkRevokedMark(); err != nil {
		return err
	}
	return iss.checkStatusList()
}

// checkRevokedMark refuses an accumulator with fewer revoked serials than
// the private database counted as revoked (a pending revocation, finished
// later in open, may account for some).
func (iss *Issuer) checkRevokedMark() error {
	var mark uint64
	var pending []uint64
	err := storelock.View(iss.db, func(txn *badger.Txn) error {
		var err error
		if mark, err = readCounter(txn, keyRevokedMark); err != nil {
			return err
		}
		item, err := txn.Get(keyPendingRevoke)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &pending) })
	})
	if err != nil {
		return fmt.Errorf("issuer: reading the private database: %w", err)
	}
	accBits, err := iss.acc.StatusBits()
	if err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	var revoked uint64
	for _, b := range accBits {
		revoked += uint64(bits.OnesCount8(b))
	}
	if revoked+uint64(len(pending)) < mark {
		return fmt.Errorf("%w: the accumulator (%s/) revokes %d serials, the private database recorded %d revoked; %s",
			ErrRolledBack, accumulatorDir, revoked, mark, restoreHint)
	}
	return nil
}

// checkStatusList refuses a private database that lacks a revocation the
// published status list (signed by the issuer key) already shows: the
// revocation was acknowledged. The list is of the SD-JWT copies' status
// indices, which the private database keeps (statusidx.go).
func (iss *Issuer) checkStatusList() error {
	list, ok := iss.publishedStatusList()
	if !ok {
		return nil
	}
	bits := iss.status.revoked
	if list.Len() != uint64(len(bits))*8 {
		return nil // not this directory's list size: repairStatusList rewrites it
	}
	for i := uint64(0); i < list.Len(); i++ {
		st, _ := list.Status(i)
		if st == revocation.Revoked && !bitSet(bits, i) {
			return fmt.Errorf("%w: public/%s shows status index %d revoked, the private database does not; %s",
				ErrRolledBack, publication.StatusListName, i, restoreHint)
		}
	}
	return nil
}

// publishedStatusList returns the status list in public/ if it verifies
// under the issuer key, whatever its age (its content is what counts here).
func (iss *Issuer) publishedStatusList() (*revocation.StatusList, bool) {
	data, err := os.ReadFile(iss.publicPath(publication.StatusListName))
	if err != nil {
		return nil, false
	}
	// The zero time is before any exp: an expired list still says what
	// was revoked.
	list, err := revocation.ParseStatusListToken(string(data), iss.key.Public(), iss.meta.StatusListURI, time.Time{})
	if err != nil || list.Issuer != iss.meta.Issuer {
		return nil, false
	}
	return list, true
}

// repairPublic finishes an interrupted publish: it rewrites, from the
// accumulator, every epoch's missing or damaged root statement, its missing
// delta (and the latest epoch's delta unless it decodes as that epoch's),
// roots/latest.jws if it
// is not the latest epoch's, and the status list if it does not match the
// accumulator. It runs after checkStores, so nothing it overwrites is a
// newer signed file.
func (iss *Issuer) repairPublic(history []*revocation.Epoch) error {
	for i, e := range history {
		name := publication.RootName(e.Epoch)
		if data, err := os.ReadFile(iss.publicPath(name)); err != nil || string(data) != e.Statement {
			if err := writePublicFile(iss.dir, name, []byte(e.Statement)); err != nil {
				return err
			}
		}
		name = publication.DeltaName(e.Epoch)
		data, err := os.ReadFile(iss.publicPath(name))
		if err == nil && (i < len(history)-1 || deltaFits(data, e)) {
			// Recomputing every delta at each open would cost too much
			// (the latest alone can cover 10^6 appends): an earlier one
			// that exists is kept; the latest, the one an interrupted
			// publish may have left, is kept if it decodes as this
			// epoch's (writes are atomic, so a crash leaves no torn file).
			continue
		}
		d, err2 := iss.acc.Delta(e.Epoch)
		if errors.Is(err2, revocation.ErrDeltaPruned) {
			continue
		}
		if err2 != nil {
			return fmt.Errorf("issuer: delta of epoch %d: %w", e.Epoch, err2)
		}
		want, err2 := d.MarshalBinary()
		if err2 != nil {
			return err2
		}
		if err != nil || !bytes.Equal(data, want) {
			if err := writePublicFile(iss.dir, name, want); err != nil {
				return err
			}
		}
	}
	if len(history) > 0 {
		st := history[len(history)-1].Statement
		if data, err := os.ReadFile(iss.publicPath(publication.LatestRootName)); err != nil || string(data) != st {
			if err := writePublicFile(iss.dir, publication.LatestRootName, []byte(st)); err != nil {
				return err
			}
		}
	}
	return iss.repairStatusList()
}

// deltaFits reports whether data decodes as a delta of epoch e: its
// epoch, leaf count and root.
func deltaFits(data []byte, e *revocation.Epoch) bool {
	d := new(revocation.Delta)
	return d.UnmarshalBinary(data) == nil && d.Epoch == e.Epoch && d.LeafCount == e.LeafCount && d.Root.Equal(&e.Root)
}

// repairStatusList rewrites the status list unless the published one
// verifies and matches the private database's bits.
func (iss *Issuer) repairStatusList() error {
	bits := iss.status.revoked
	if list, ok := iss.publishedStatusList(); ok && list.Len() == uint64(len(bits))*8 {
		same := true
		for i := uint64(0); i < list.Len() && same; i++ {
			st, _ := list.Status(i)
			same = (st == revocation.Revoked) == bitSet(bits, i)
		}
		if same {
			return nil
		}
	}
	return iss.writeStatusList(iss.now())
}

// publishedRoots lists the epochs of the files roots/<epoch>.jws in dir.
// The number in a name only says which statement of the accumulator to
// compare the file with; what counts is the file's verified content.
func publishedRoots(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	var out []uint64
	for _, e := range entries {
		num, ok := strings.CutSuffix(e.Name(), ".jws")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if n, err := strconv.ParseUint(num, 10, 64); err == nil && publication.RootName(n) == "roots/"+e.Name() {
			out = append(out, n)
		}
	}
	return out, nil
}

// publicPath is the path of the public file called name.
func (iss *Issuer) publicPath(name string) string {
	return filepath.Join(iss.dir, publicDir, filepath.FromSlash(name))
}
