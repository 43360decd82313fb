package holder

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// TestBucketRequestCarriesNoSerial: the bucket fallback asks an HTTP issuer
// for the bucket by its number, and nothing the wallet sends (path, query,
// headers) holds the credential's serial. A recording server serves the
// issuer's files and computes buckets as the issuer service does.
func TestBucketRequestCarriesNoSerial(t *testing.T) {
	iss := newIssuer(t)
	// Other holders' credentials first, so that the serial (≥ 300) and its
	// bucket number (serial >> 8) differ.
	others := make([]fr.Element, 300)
	for i := range others {
		others[i].SetRandom()
	}
	if _, err := iss.store.Append(others...); err != nil {
		t.Fatal(err)
	}
	iss.publish()
	w := newWallet(t)
	b := enrol(t, iss, w, adult)
	for range MaxDeltas + 1 { // too far behind for the deltas
		iss.publish()
	}

	var mu sync.Mutex
	var requests []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.Clone(context.Background()))
		mu.Unlock()
		name := strings.TrimPrefix(r.URL.Path, "/")
		if rest, ok := strings.CutPrefix(name, "buckets/"); ok {
			k, idx, _ := strings.Cut(rest, "/")
			kk, err1 := strconv.Atoi(k)
			index, err2 := strconv.ParseUint(idx, 10, 64)
			if err1 != nil || err2 != nil {
				http.Error(rw, "bad bucket", http.StatusBadRequest)
				return
			}
			bk, err := iss.store.Bucket(index<<(2*kk), kk)
			if err != nil {
				http.Error(rw, err.Error(), http.StatusBadRequest)
				return
			}
			data, _ := bk.MarshalBinary()
			rw.Write(data)
			return
		}
		data, err := os.ReadFile(iss.public(name))
		if err != nil {
			http.NotFound(rw, r)
			return
		}
		rw.Write(data)
	}))
	defer srv.Close()

	reps, err := w.Refresh(context.Background(), publication.HTTPSource(srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reps[0].UsedBucket {
		t.Fatalf("no bucket used: %+v", reps)
	}
	wantStorePath(t, iss, w)

	serial := strconv.FormatUint(b.Serial, 10)
	wantBucket := "/" + publication.BucketName(BucketK, revocation.BucketIndex(b.Serial, BucketK))
	buckets := 0
	for _, r := range requests {
		if strings.HasPrefix(r.URL.Path, "/buckets/") {
			buckets++
			if r.URL.Path != wantBucket {
				t.Errorf("bucket request %s, want %s", r.URL.Path, wantBucket)
			}
		}
		for _, seg := range strings.Split(r.URL.Path, "/") {
			if seg == serial {
				t.Errorf("request %s names the serial %s", r.URL.Path, serial)
			}
		}
		if strings.Contains(r.URL.RawQuery, serial) {
			t.Errorf("request %s?%s names the serial", r.URL.Path, r.URL.RawQuery)
		}
		for h, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, serial) {
					t.Errorf("header %s: %s names the serial", h, v)
				}
			}
		}
	}
	if buckets != 1 {
		t.Fatalf("%d bucket requests, want 1", buckets)
	}
}
