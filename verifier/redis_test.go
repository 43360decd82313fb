package verifier_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/yinzheng-id/yinzheng/internal/redistest"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

// TestRedisFailsClosed: with its Redis down a verifier decides nothing,
// and every call says so with ErrStoreUnavailable; the presentation
// refused meanwhile verifies once Redis is back, and its consumption
// survives a crash of Redis (the append-only file).
func TestRedisFailsClosed(t *testing.T) {
	srv := redistest.New(t)
	e := setup(t, func(o *verifier.Options) { o.StoreURL = srv.URL() })
	// The VDIR is only read: no Badger directory in it, nothing locked.
	if _, err := os.Stat(filepath.Join(e.opts.Dir, "requests")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a verifier on Redis made VDIR/requests: %v", err)
	}
	req, token, err := e.v.NewTransaction(e.ctx, e.policy)
	if err != nil {
		t.Fatal(err)
	}
	doc := e.zkDocOf(req)

	srv.Kill()
	if res, err := e.v.Verify(e.ctx, doc, nil); !errors.Is(err, verifier.ErrStoreUnavailable) || res != nil {
		t.Fatalf("verify with Redis down: %+v %v, want no result and ErrStoreUnavailable", res, err)
	}
	if _, err := e.v.NewRequest(e.ctx, e.policy); !errors.Is(err, verifier.ErrStoreUnavailable) {
		t.Fatalf("new request with Redis down: %v", err)
	}
	if _, err := e.v.PendingRequest(e.ctx, req.ID); !errors.Is(err, verifier.ErrStoreUnavailable) {
		t.Fatalf("pending request with Redis down: %v", err)
	}
	if _, err := e.v.Result(e.ctx, req.ID, token); !errors.Is(err, verifier.ErrStoreUnavailable) {
		t.Fatalf("result with Redis down: %v", err)
	}
	if _, err := e.v.Ready(e.ctx); !errors.Is(err, verifier.ErrStoreUnavailable) {
		t.Fatalf("ready with Redis down: %v", err)
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Ready(e.ctx); err != nil {
		t.Fatalf("not ready after Redis came back: %v", err)
	}
	if res := e.verify(doc, nil); !res.Valid {
		t.Fatalf("after Redis came back: %+v", res)
	}
	srv.Kill() // a crash right after the acknowledgement
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	wantReason(t, e.verify(doc, nil), verifier.ReasonUnknownNonce)
	if res, err := e.v.Result(e.ctx, req.ID, token); err != nil || !res.Valid {
		t.Fatalf("result after the crash: %+v %v", res, err)
	}
	if _, err := e.v.Result(e.ctx, req.ID, token+"x"); !errors.Is(err, verifier.ErrNoResult) {
		t.Fatalf("result with a wrong token: %v", err)
	}
}

// zkDocOf proves req for the adult.
func (e *env) zkDocOf(req *verifier.Request) []byte {
	e.t.Helper()
	p := e.adult.Prove(e.t, req, e.epoch)
	return verifiertest.JSON(e.t, p)
}

// TestRedisPassword: the password comes from the URL or the argument, and
// is in no error.
func TestRedisPassword(t *testing.T) {
	const secret = "s3cret-Pw"
	for _, u := range []string{
		"redis://user:" + secret + "@[::1/0",
		"redis://:" + secret + "@127.0.0.1:6379/notanumber",
		"redis://:" + secret + "@127.0.0.1:6379/0?no_such_option=1",
		"http://:" + secret + "@127.0.0.1:6379/0",
	} {
		if _, err := verifier.OpenRedisStore(u, ""); err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("OpenRedisStore(%q): %v, want an error without the password", u, err)
		}
	}
	srv := redistest.New(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer admin.Close()
	ctx := context.Background()
	if err := admin.ConfigSet(ctx, "requirepass", secret).Err(); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.URL(), "redis://")
	for name, c := range map[string]struct {
		url, password string
		ok            bool
	}{
		"none":        {srv.URL(), "", false},
		"wrong":       {"redis://:wrong@" + host, "", false},
		"in the URL":  {"redis://:" + secret + "@" + host, "", true},
		"as argument": {srv.URL(), secret, true},
	} {
		s, err := verifier.OpenRedisStore(c.url, c.password)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		err = s.Ping(ctx)
		s.Close()
		if (err == nil) != c.ok || (err != nil && (!errors.Is(err, verifier.ErrStoreUnavailable) || strings.Contains(err.Error(), secret))) {
			t.Errorf("%s: ping %v, want ok %v (errors without the password)", name, err, c.ok)
		}
	}
}
