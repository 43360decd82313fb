package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/internal/redistest"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
)

// fleet is three replicas of the verifier service sharing one Redis and
// one VDIR (its trust.json): each has its own verifier, publication cache
// and HTTP server, as three machines behind a load balancer would.
type fleet struct {
	redis  *redistest.Server
	iss    *verifiertest.Issuer
	clk    *liveClock
	epoch  uint64
	adult  *verifiertest.Holder
	urls   []string
	client *http.Client
}

func newFleet(t *testing.T, replicas int) *fleet {
	t.Helper()
	f := &fleet{redis: redistest.New(t), iss: verifiertest.NewIssuer(t, 4, liveBase), clk: &liveClock{t: liveBase},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}}
	f.adult = f.iss.Issue(t, verifiertest.Adult(schemas.Date{Year: 2000, Month: time.January, Day: 1}), liveBase)
	f.epoch = f.iss.Publish(t, liveBase).Epoch
	vdir := t.TempDir()
	f.iss.Pin(t, vdir)
	for range replicas {
		// The same VDIR for every replica: with a shared store it is
		// only read, and not locked.
		v, err := verifier.New(verifier.Options{Dir: vdir, Source: f.iss.Source(), Now: f.clk.now,
			AllowDevelopmentKeys: true, StoreURL: f.redis.URL()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		// No per-address rate limit: every test client is 127.0.0.1.
		srv := httpserv.New(httpserv.Config{Rate: -1})
		if _, err := New(srv, FromVerifier(v), Options{PublicURL: "https://verifier.example", Now: f.clk.now,
			Logger: srv.Logger(), Metrics: srv.Metrics()}); err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		f.urls = append(f.urls, ts.URL)
	}
	return f
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

// create makes a request on replica i and returns it with its result token.
func (f *fleet) create(t *testing.T, i int, policy string) (*verifier.Request, string) {
	t.Helper()
	resp, env := f.do(t, "POST", f.urls[i]+"/requests", policy, nil)
	if resp == nil || resp.StatusCode != 201 {
		t.Fatalf("create on replica %d: %v %v", i, resp, env)
	}
	inner, _ := json.Marshal(env["request"])
	req, err := verifier.ParseRequest(inner)
	if err != nil {
		t.Fatal(err)
	}
	return req, resp.Header.Get(ResultTokenHeader)
}

// fetch reads the request by reference (request_uri) from replica i.
func (f *fleet) fetch(t *testing.T, i int, id string) int {
	t.Helper()
	resp, env := f.do(t, "GET", f.urls[i]+"/requests/"+id, "", nil)
	if resp == nil {
		return 0
	}
	if resp.StatusCode == 200 && env["state"] != id {
		t.Errorf("request %s from replica %d: %v", id, i, env)
	}
	return resp.StatusCode
}

// respond posts a presentation to replica i.
func (f *fleet) respond(t *testing.T, i int, doc []byte) (*http.Response, map[string]any) {
	t.Helper()
	return f.do(t, "POST", f.urls[i]+"/response", string(doc), nil)
}

// result asks replica i for a request's result.
func (f *fleet) result(t *testing.T, i int, id, token string) (int, map[string]any) {
	t.Helper()
	resp, m := f.do(t, "GET", f.urls[i]+"/requests/"+id+"/result", "", http.Header{"Authorization": {"Bearer " + token}})
	if resp == nil {
		return 0, nil
	}
	return resp.StatusCode, m
}

const sdjwtPolicy = `{"scope":"platform-a","age_over":18,"sd_jwt":["age_over_18"]}`
const zkPolicy = `{"scope":"platform-a","age_over":18}`

// TestFleetRoundRobin: 2,000 transactions, each created on one replica,
// read by reference from the next, answered on the third and reported
// by the first. SD-JWT presentations (real ones: issuer signature, key
// binding, status list) keep it fast; one in 250 is a zero-knowledge
// presentation with a real proof, so that proofs go through the shared
// store and the batches too. Every one is accepted, none twice.
func TestFleetRoundRobin(t *testing.T) {
	f := newFleet(t, 3)
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
				policy := sdjwtPolicy
				if zk {
					policy = zkPolicy
				}
				req, token := f.create(t, a, policy)
				if status := f.fetch(t, b, req.ID); status != 200 {
					t.Errorf("transaction %d: request_uri on replica %d: %d", k, b, status)
					return
				}
				var pres *verifier.Presentation
				if zk {
					pres = f.adult.Prove(t, req, f.epoch)
				} else {
					pres = f.adult.Present(t, req, nil, "", "", true, liveBase)
				}
				doc := verifiertest.JSON(t, pres)
				resp, res := f.respond(t, c, doc)
				if resp == nil || resp.StatusCode != 200 || res["valid"] != true {
					t.Errorf("transaction %d (zk %v) on replica %d: %v %v", k, zk, c, resp, res)
					return
				}
				accepted.Add(1)
				if status, m := f.result(t, a, req.ID, token); status != 200 || m["valid"] != true {
					t.Errorf("transaction %d: result on replica %d: %d %v", k, a, status, m)
				}
				if status := f.fetch(t, b, req.ID); status != 404 {
					t.Errorf("transaction %d: answered request still served: %d", k, status)
				}
				if k%10 == 0 {
					// A replay on another replica is refused.
					resp, res := f.respond(t, a, doc)
					if resp == nil || resp.StatusCode != 422 || !strings.Contains(fmt.Sprint(res["reasons"]), verifier.ReasonUnknownNonce) {
						t.Errorf("transaction %d: replay on replica %d: %v %v", k, a, resp, res)
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

// TestFleetAcceptedOnce: the same presentation posted to all three
// replicas at once from 30 goroutines is accepted exactly once; the 29
// others are told the nonce is used. Zero-knowledge presentations go
// through the replicas' batches; SD-JWT ones through the same store.
func TestFleetAcceptedOnce(t *testing.T) {
	f := newFleet(t, 3)
	for round, policy := range []string{zkPolicy, sdjwtPolicy, zkPolicy, sdjwtPolicy} {
		req, token := f.create(t, round%3, policy)
		var pres *verifier.Presentation
		if policy == zkPolicy {
			pres = f.adult.Prove(t, req, f.epoch)
		} else {
			pres = f.adult.Present(t, req, nil, "", "", true, liveBase)
		}
		doc := verifiertest.JSON(t, pres)
		const posters = 30
		var ok, used atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range posters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				resp, res := f.respond(t, g%3, doc)
				switch {
				case resp == nil:
				case resp.StatusCode == 200 && res["valid"] == true:
					ok.Add(1)
				case resp.StatusCode == 422 && strings.Contains(fmt.Sprint(res["reasons"]), verifier.ReasonUnknownNonce):
					used.Add(1)
				default:
					t.Errorf("round %d: %d %v", round, resp.StatusCode, res)
				}
			}()
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 || used.Load() != posters-1 {
			t.Fatalf("round %d: accepted %d times, refused as used %d times; want 1 and %d", round, ok.Load(), used.Load(), posters-1)
		}
		// Whichever replica accepted it, every replica reports it.
		for i := range f.urls {
			if status, m := f.result(t, i, req.ID, token); status != 200 || m["valid"] != true {
				t.Fatalf("round %d: result on replica %d: %d %v", round, i, status, m)
			}
		}
	}
}

// TestFleetRedisDown: Redis is killed (SIGKILL, as a crash) while
// presentations are being posted. While it is down nothing is accepted:
// every replica answers 503 with Retry-After and is not ready. After it
// restarts from its append-only file, service resumes, the presentations
// refused with 503 are accepted, and none accepted before the crash is
// accepted again.
func TestFleetRedisDown(t *testing.T) {
	f := newFleet(t, 3)
	const n = 120
	docs := make([][]byte, n)
	for k := range docs {
		req, _ := f.create(t, k%3, sdjwtPolicy)
		docs[k] = verifiertest.JSON(t, f.adult.Present(t, req, nil, "", "", true, liveBase))
	}
	var mu sync.Mutex
	// When each was accepted: the time the post was sent and the time
	// the answer came back.
	acceptedAt := make([][][2]time.Time, n)
	var downFrom, downTo atomic.Int64 // the window Redis was surely down, UnixNano
	post := func(k, i int) int {
		sent := time.Now()
		resp, res := f.respond(t, i, docs[k])
		if resp == nil {
			return 0
		}
		switch resp.StatusCode {
		case 200:
			mu.Lock()
			acceptedAt[k] = append(acceptedAt[k], [2]time.Time{sent, time.Now()})
			mu.Unlock()
		case 503:
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After: %v", res)
			}
		case 422:
			if !strings.Contains(fmt.Sprint(res["reasons"]), verifier.ReasonUnknownNonce) {
				t.Errorf("presentation %d refused: %v", k, res)
			}
		default:
			t.Errorf("presentation %d: %d %v", k, resp.StatusCode, res)
		}
		return resp.StatusCode
	}

	// Posters go through the presentations, each posted to every replica
	// in turn, until all are accepted; Redis dies and comes back meanwhile.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var saw503 atomic.Int32
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; ; round++ {
				select {
				case <-stop:
					return
				default:
				}
				for k := w; k < n; k += 6 {
					if post(k, (k+round)%3) == 503 {
						saw503.Add(1)
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	time.Sleep(30 * time.Millisecond)
	f.redis.Kill()
	downFrom.Store(time.Now().UnixNano())
	// While down: 503 everywhere, not ready, nothing made.
	for i := range f.urls {
		resp, m := f.do(t, "GET", f.urls[i]+"/readyz", "", nil)
		if resp == nil || resp.StatusCode != 503 || m["reason"] != "store unavailable" {
			t.Errorf("replica %d ready while Redis is down: %v %v", i, resp, m)
		}
		if resp, m := f.do(t, "POST", f.urls[i]+"/requests", sdjwtPolicy, nil); resp == nil || resp.StatusCode != 503 {
			t.Errorf("replica %d made a request while Redis is down: %v %v", i, resp, m)
		}
	}
	time.Sleep(300 * time.Millisecond)
	downTo.Store(time.Now().UnixNano())
	if err := f.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	// Service resumes: every replica ready again.
	deadline := time.Now().Add(10 * time.Second)
	for i := range f.urls {
		for {
			resp, _ := f.do(t, "GET", f.urls[i]+"/readyz", "", nil)
			if resp != nil && resp.StatusCode == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d not ready 10 s after Redis restarted", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Until every presentation has been accepted (the posters keep going).
	for {
		mu.Lock()
		left := 0
		for _, at := range acceptedAt {
			if len(at) == 0 {
				left++
			}
		}
		mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d presentations still not accepted after the restart", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A last pass: everything is used now.
	close(stop)
	wg.Wait()
	for k := range docs {
		if status := post(k, k%3); status != 422 {
			t.Errorf("presentation %d after the run: %d, want 422", k, status)
		}
	}
	from, to := time.Unix(0, downFrom.Load()), time.Unix(0, downTo.Load())
	before := 0
	for k, at := range acceptedAt {
		if len(at) != 1 {
			t.Errorf("presentation %d accepted %d times", k, len(at))
			continue
		}
		if at[0][0].After(from) && at[0][1].Before(to) {
			t.Errorf("presentation %d accepted while Redis was down", k)
		}
		if at[0][1].Before(from) {
			before++
		}
	}
	if saw503.Load() == 0 {
		t.Error("no 503 while Redis was down: the outage was not exercised")
	}
	if before == 0 || before == n {
		t.Errorf("%d of %d accepted before the crash: the crash did not fall mid-run", before, n)
	}
	t.Logf("%d accepted before the crash, %d after; %d answers 503 meanwhile", before, n-before, saw503.Load())
}
