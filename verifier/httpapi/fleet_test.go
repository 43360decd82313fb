package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/yinzheng-id/yinzheng/internal/redistest"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

// fleet is replicas of the verifier service sharing one Redis and one
// VDIR (its trust.json): each has its own verifier, publication cache and
// HTTP server, as machines behind a load balancer would
// (newPlatformFleet makes one).
type fleet struct {
	redis  *redistest.Server
	iss    *verifiertest.Issuer
	clk    *liveClock
	epoch  uint64
	adult  *verifiertest.Holder
	urls   []string
	client *http.Client
}

// do sends one request and decodes the JSON answer.
func (f *fleet) do(t *testing.T, method, url, body string, header http.Header) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return nil, nil
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Error(err)
		return nil, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Errorf("%s %s: not JSON: %q", method, url, data)
	}
	return resp, m
}

// TestFleetRoundRobin: 2,000 transactions of the platform flow, each
// created on one replica (with the API token), its request object served
// by the next, answered (direct_post) on the third and its verdict read on
// the first with the response_code the third gave. SD-JWT answers (real
// ones: issuer signature, key binding, status list) keep it fast; one in
// 250 is a zero-knowledge answer with a real proof, so that proofs go
// through the shared store and the batches too. Every one is accepted,
// none twice: a replay on another replica is refused.
func TestFleetRoundRobin(t *testing.T) {
	f := newPlatformFleet(t, 3)
	const n, zkEvery, workers = 2000, 250, 8
	var accepted, replays atomic.Int32
	var wg sync.WaitGroup
	next := atomic.Int32{}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= n || t.Failed() {
					return
				}
				a, b, c := k%3, (k+1)%3, (k+2)%3
				zk := k%zkEvery == 0
				policy := platformPolicy
				if zk {
					policy = zkPlatformPolicy
				}
				resp, doc := f.createTx(t, a, policy)
				if resp == nil || resp.StatusCode != http.StatusCreated {
					t.Errorf("transaction %d: create on replica %d: %v", k, a, resp)
					return
				}
				if code, body := f.fetchBody(t, b, doc.TransactionID); code != 200 || body != doc.RequestObject {
					t.Errorf("transaction %d: request_uri on replica %d: %d", k, b, code)
					return
				}
				form := f.answerOn(t, b, doc, zk)
				resp, m := f.post(t, c, form)
				if resp == nil || resp.StatusCode != 200 {
					t.Errorf("transaction %d (zk %v): answer on replica %d: %v %v", k, zk, c, resp, m)
					return
				}
				rc := responseCodeOf(t, m)
				code, v := f.verdictOn(t, a, doc.TransactionID, rc)
				if res, _ := v["result"].(map[string]any); code != 200 || v["status"] != "complete" || res["valid"] != true {
					t.Errorf("transaction %d (zk %v): verdict on replica %d: %d %v", k, zk, a, code, v)
					return
				}
				accepted.Add(1)
				if code := f.fetchRO(t, b, doc.TransactionID); code != 404 {
					t.Errorf("transaction %d: answered request object still served: %d", k, code)
				}
				if k%10 == 0 {
					// A replay on another replica is refused.
					if resp, m := f.post(t, a, form); resp == nil || resp.StatusCode != 400 || m["error"] != "invalid_request" {
						t.Errorf("transaction %d: replay on replica %d: %v %v", k, a, resp, m)
					}
					replays.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := accepted.Load(); got != n && !t.Failed() {
		t.Fatalf("%d of %d transactions accepted", got, n)
	}
	t.Logf("%d transactions accepted across 3 replicas (%d zero-knowledge), %d replays refused", n, n/zkEvery, replays.Load())
}
