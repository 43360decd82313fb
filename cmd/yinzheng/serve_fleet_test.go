package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/yinzheng-id/yinzheng/internal/redistest"
	"github.com/yinzheng-id/yinzheng/schemas"
	verifierapi "github.com/yinzheng-id/yinzheng/verifier/httpapi"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
	"github.com/yinzheng-id/yinzheng/wire"
)

// TestServeVerifierFleet: three `serve verifier --store redis://… --platform`
// on one VDIR run side by side (nothing in it is locked), take the Redis
// password from the environment without logging it, and serve each
// other's transactions: one created on the first (with the API token) is
// served by the second, answered on the third and reported by the first; a
// replay on the second is refused.
func TestServeVerifierFleet(t *testing.T) {
	const secret = "fleet-s3cret"
	srv := redistest.New(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer admin.Close()
	if err := admin.ConfigSet(context.Background(), "requirepass", secret).Err(); err != nil {
		t.Fatal(err)
	}
	t.Setenv(redisPasswordEnv, secret)
	flags, token := servePlatformFlags(t)
	iss := verifiertest.NewIssuer(t, 4, time.Now())
	holder := iss.Issue(t, verifiertest.Adult(schemas.Date{Year: 2000, Month: time.January, Day: 1}), time.Now())
	epoch := iss.Publish(t, time.Now()).Epoch
	vdir := t.TempDir()
	iss.Pin(t, vdir)
	var bases []string
	var logs []*lockedBuffer
	var dones []chan error
	for range 3 {
		var out, errOut lockedBuffer
		done := make(chan error, 1)
		go func() {
			done <- runServe(append([]string{"verifier", "--dir", vdir, "--addr", "127.0.0.1:0", "--issuer-dir", iss.Dir,
				"--allow-development-keys", "--store", srv.URL(), "--log-level", "debug"}, flags...), strings.NewReader(""), &out, &errOut)
		}()
		base := awaitListening(t, &out, &errOut, done)
		if base == "" {
			t.Fatal("no listening line on stdout")
		}
		bases, logs, dones = append(bases, base), append(logs, &errOut), append(dones, done)
	}
	do := func(method, u, ctype, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, data
	}
	for _, b := range bases {
		if status, body := do("GET", b+"/readyz", "", ""); status != 200 {
			t.Fatalf("replica %s not ready: %d %s", b, status, body)
		}
	}
	status, body := do("POST", bases[0]+verifierapi.TransactionsPath, "application/json", `{"age_over":18}`)
	var doc verifierapi.TransactionDocument
	if status != http.StatusCreated || json.Unmarshal(body, &doc) != nil {
		t.Fatalf("create: %d %s", status, body)
	}
	// The wallet fetches the request object from the second replica and
	// checks it as a wallet does.
	status, body = do("GET", bases[1]+verifierapi.RequestPath+doc.TransactionID, "", "")
	if status != 200 || string(body) != doc.RequestObject {
		t.Fatalf("the second replica does not serve the request object: %d %s", status, body)
	}
	sro, err := wire.VerifyRequestObject(string(body), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, err := sro.Object.YinzhengRequest()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := wire.NewVPToken(holder.Prove(t, req, epoch))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"vp_token": {string(tok)}, "state": {sro.Object.State}}.Encode()
	if status, body := do("POST", bases[2]+verifierapi.ResponsePath, "application/x-www-form-urlencoded", form); status != 200 {
		t.Fatalf("answer on the third replica: %d %s", status, body)
	}
	status, body = do("GET", bases[0]+verifierapi.TransactionsPath+"/"+doc.TransactionID, "", "")
	var v verifierapi.VerdictDocument
	if status != 200 || json.Unmarshal(body, &v) != nil || v.Status != "complete" || !v.Result.Valid {
		t.Fatalf("verdict on the first replica: %d %s", status, body)
	}
	if status, body := do("POST", bases[1]+verifierapi.ResponsePath, "application/x-www-form-urlencoded", form); status != 400 {
		t.Fatalf("replay on the second replica: %d %s", status, body)
	}
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
