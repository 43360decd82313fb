package storelock

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// BenchmarkSyncCost measures a request put and take (the verifier's
// request store: a TTL entry written when a request is made, read and
// deleted in one conflict-checked transaction when it is answered) with
// writes synced (as they always are) and, for comparison only, unsynced.
// The options are the verifier store's (verifier/store.go).
func BenchmarkSyncCost(b *testing.B) {
	for _, sync := range []bool{false, true} {
		name := "sync=off"
		if sync {
			name = "sync=on"
		}
		b.Run(name+"/request-put-take", func(b *testing.B) {
			defer SetSyncWrites(SetSyncWrites(sync))
			opts := badger.DefaultOptions(b.TempDir()).WithLogger(nil).WithMetricsEnabled(false).
				WithDetectConflicts(true).WithMemTableSize(8 << 20).WithNumMemtables(2).
				WithValueLogFileSize(64 << 20).WithBlockCacheSize(8 << 20).WithIndexCacheSize(0).WithNumCompactors(2)
			db, err := Open(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			doc := make([]byte, 600) // about a request document
			id := make([]byte, 16)
			for b.Loop() {
				rand.Read(id)
				key := []byte("request/" + hex.EncodeToString(id))
				if err := Update(db, func(txn *badger.Txn) error {
					return txn.SetEntry(badger.NewEntry(key, doc).WithTTL(time.Hour))
				}); err != nil {
					b.Fatal(err)
				}
				if err := Update(db, func(txn *badger.Txn) error {
					if _, err := txn.Get(key); err != nil {
						return err
					}
					return txn.Delete(key)
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "put+take/s")
		})
	}
}
