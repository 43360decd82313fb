package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/wire"
)

// fakeIssuer records what the service passes to the issuer library.
type fakeIssuer struct {
	mu        sync.Mutex
	issued    [][2]string
	revoked   []uint64
	published int
}

func (f *fakeIssuer) CheckSubject(subject []byte) error {
	if !strings.Contains(string(subject), `"name"`) {
		return fmt.Errorf("%w: subject: name is missing", ErrInvalidInput)
	}
	return nil
}

func (f *fakeIssuer) Issue(ctx context.Context, subject, req []byte) ([]byte, error) {
	if strings.Contains(string(subject), "bad") {
		return nil, fmt.Errorf("%w: subject: bad", ErrInvalidInput)
	}
	if strings.Contains(string(subject), "explode") {
		return nil, fmt.Errorf("badger: disk detail")
	}
	var hr wire.HolderRequest
	if err := json.Unmarshal(req, &hr); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	f.mu.Lock()
	f.issued = append(f.issued, [2]string{string(subject), string(req)})
	f.mu.Unlock()
	b := wire.Bundle{Version: 1, Issuer: "https://issuer.yinzheng.example", Serial: 7, Wanghao: "w",
		ZK: wire.BundleZK{Leaf: "leaf-of-" + hr.HolderCommitment}, Path: wire.BundlePath{Serial: 7, Epoch: 4}, Pending: true}
	for i := range hr.SDJWTKeys {
		b.SDJWT = append(b.SDJWT, fmt.Sprintf("sd-jwt-%d", i))
	}
	return json.Marshal(&b)
}

func (f *fakeIssuer) Revoke(serials []uint64) error {
	for _, s := range serials {
		if s > 100 {
			return fmt.Errorf("%w: serial %d was never issued", ErrInvalidInput, s)
		}
	}
	f.mu.Lock()
	f.revoked = append(f.revoked, serials...)
	f.mu.Unlock()
	return nil
}

func (f *fakeIssuer) Delete(wanghao string) ([]byte, error) {
	if wanghao != "known" {
		return nil, fmt.Errorf("%w: no person on record", ErrNotFound)
	}
	return []byte(`{"revoked":[7],"next_epoch":5}`), nil
}

func (f *fakeIssuer) Publish() ([]byte, error) {
	f.mu.Lock()
	f.published++
	f.mu.Unlock()
	return []byte(`{"epoch":5}`), nil
}

func (f *fakeIssuer) Bucket(index uint64, k int) ([]byte, error) {
	if index > 100 {
		return nil, fmt.Errorf("%w: bucket %d holds no serial issued", ErrInvalidInput, index)
	}
	return []byte{byte(index), byte(k)}, nil
}

type fixture struct {
	base  string
	dir   string
	fake  *fakeIssuer
	clock *time.Time
}

const admin = "admin-secret-token"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	key, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	meta := publication.Metadata{Version: 1, Issuer: "https://issuer.yinzheng.example", Suite: jose.SuiteGM,
		JWK: key.Public(), KeyID: key.Public().KeyID(), Depth: 32, CircuitID: "zCircuit", SchemaID: "zSchema",
		VCT: "urn:yinzheng:wangzheng:v1", StatusListURI: "https://issuer.yinzheng.example/statuslist.jwt"}
	data, _ := json.Marshal(&meta)
	files := map[string][]byte{
		publication.IssuerName:       data,
		publication.LatestRootName:   []byte("latest-jws"),
		publication.RootName(3):      []byte("jws-3"),
		publication.DeltaName(3):     []byte(`{"delta":3}`),
		publication.StatusListName:   []byte("status-jwt"),
		publication.ManifestName:     []byte(`{"m":1}`),
		publication.VerifyingKeyName: []byte("vk"),
		publication.TranscriptName:   []byte("transcript"),
		"secret.txt":                 []byte("not published"),
	}
	for name, body := range files {
		p := filepath.Join(dir, "public", filepath.FromSlash(name))
		if name == "secret.txt" {
			p = filepath.Join(dir, "private", name)
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	f := &fixture{dir: dir, fake: &fakeIssuer{}, clock: &now}
	srv := httpserv.New(httpserv.Config{MaxBodyBytes: 1 << 16})
	if _, err := New(srv, f.fake, Options{Dir: dir, PublicURL: "http://127.0.0.1:1/", AdminToken: []byte(admin),
		Now: func() time.Time { return *f.clock }}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	f.base = ts.URL
	return f
}

func call(t *testing.T, method, url, auth, ctype, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func jsonOf(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("not JSON: %q", data)
	}
	return m
}

func TestPublicFiles(t *testing.T) {
	f := newFixture(t)
	for path, c := range map[string]struct {
		status      int
		body, cache string
	}{
		"/roots/latest.jws":         {200, "latest-jws", cacheLatest},
		"/roots/3.jws":              {200, "jws-3", cacheImmutable},
		"/deltas/3.json":            {200, `{"delta":3}`, cacheImmutable},
		"/statuslist.jwt":           {200, "status-jwt", cacheStatus},
		"/circuit/manifest.json":    {200, `{"m":1}`, cacheCircuit},
		"/circuit/verifying.key":    {200, "vk", cacheCircuit},
		"/circuit/transcript.bin":   {200, "transcript", cacheCircuit},
		"/buckets/8/5":              {200, "\x05\x08", cacheBucket},
		"/roots/4.jws":              {404, "roots/4.jws is not published", ""},
		"/roots/03.jws":             {404, "root statements are", ""},
		"/roots/x.jws":              {404, "root statements are", ""},
		"/deltas/3.jws":             {404, "deltas are", ""},
		"/circuit/proving.key":      {404, "not published", ""},
		"/circuit/other":            {404, "circuit files are", ""},
		"/buckets/8/x":              {400, "index must be", ""},
		"/buckets/9/5":              {400, "from 0 to 8", ""},
		"/buckets/8/500":            {400, "no serial issued", ""},
		"/../private/secret.txt":    {404, "", ""},
		"/roots/..%2fprivate.jws":   {404, "", ""},
		"/circuit/..%2fissuer.json": {404, "circuit files are", ""},
	} {
		resp, data := call(t, "GET", f.base+path, "", "", "")
		if resp.StatusCode != c.status || !strings.Contains(string(data), c.body) {
			t.Errorf("%s: %d %q", path, resp.StatusCode, data)
			continue
		}
		if c.cache != "" && resp.Header.Get("Cache-Control") != c.cache {
			t.Errorf("%s: Cache-Control %q", path, resp.Header.Get("Cache-Control"))
		}
		if strings.Contains(string(data), "not published") && strings.Contains(string(data), "secret") {
			t.Errorf("%s leaked a private file", path)
		}
	}
	// The published names work through publication.HTTPSource.
	src := publication.HTTPSource(f.base, nil)
	for _, name := range []string{publication.IssuerName, publication.RootName(3), publication.DeltaName(3),
		publication.LatestRootName, publication.StatusListName, publication.BucketName(8, 5)} {
		if _, err := src.Get(context.Background(), name, 1<<20); err != nil {
			t.Errorf("HTTPSource %s: %v", name, err)
		}
	}
}

func TestNewRefusesUninitialisedDir(t *testing.T) {
	_, err := New(httpserv.New(httpserv.Config{}), &fakeIssuer{}, Options{Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "initialised issuer directory") {
		t.Fatalf("empty dir: %v", err)
	}
}
