package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/yinzheng-id/yinzheng/internal/redistest"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

// TestServeVerifierFleet: two `serve verifier --store redis://…` on one
// VDIR run side by side (nothing in it is locked), take the Redis
// password from the environment without logging it, and serve each
// other's requests.
func TestServeVerifierFleet(t *testing.T) {
	const secret = "fleet-s3cret"
	srv := redistest.New(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer admin.Close()
	if err := admin.ConfigSet(context.Background(), "requirepass", secret).Err(); err != nil {
		t.Fatal(err)
	}
	t.Setenv(redisPasswordEnv, secret)
	iss := verifiertest.NewIssuer(t, 4, time.Now())
	vdir := t.TempDir()
	iss.Pin(t, vdir)
	var bases []string
	var logs []*lockedBuffer
	var dones []chan error
	for range 2 {
		var out, errOut lockedBuffer
		done := make(chan error, 1)
		go func() {
			done <- runServe([]string{"verifier", "--dir", vdir, "--addr", "127.0.0.1:0", "--issuer-dir", iss.Dir,
				"--allow-development-keys", "--store", srv.URL(), "--log-level", "debug"}, strings.NewReader(""), &out, &errOut)
		}()
		base := ""
		for i := 0; base == "" && i < 500; i++ {
			select {
			case err := <-done:
				t.Fatalf("serve verifier stopped: %v (%s)", err, errOut.String())
			case <-time.After(10 * time.Millisecond):
			}
			if _, u, ok := strings.Cut(out.String(), "listening on "); ok {
				base = strings.TrimSpace(u)
			}
		}
		if base == "" {
			t.Fatal("no listening line on stdout")
		}
		bases, logs, dones = append(bases, base), append(logs, &errOut), append(dones, done)
	}
	for _, b := range bases {
		resp, err := http.Get(b + "/readyz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("replica %s not ready: %v %v", b, err, resp)
		}
		resp.Body.Close()
	}
	resp, err := http.Post(bases[0]+"/requests", "application/json", strings.NewReader(`{"scope":"platform-a","age_over":18}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v %v", err, resp)
	}
	var env struct {
		State string `json:"state"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp, err = http.Get(bases[1] + "/requests/" + env.State); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the other replica does not serve the request: %v %v", err, resp)
	}
	resp.Body.Close()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i, done := range dones {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("replica %d after SIGTERM: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("SIGTERM did not stop the replicas")
		}
		if strings.Contains(logs[i].String(), secret) {
			t.Fatalf("replica %d logged the Redis password", i)
		}
	}
}
