package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/internal/redistest"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/registry/registrytest"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/verifier"
	"github.com/yinzheng-id/yinzheng/verifier/verifiertest"
	"github.com/yinzheng-id/yinzheng/wire"
)

// platformFleet is three replicas of one platform's OpenID4VP service
// (same identity, same API token) on one Redis, each with its own
// verifier and HTTP server, as three machines behind a load balancer.
type platformFleet struct {
	*fleet
	vs []*verifier.Verifier
}

const platformToken = "platform-fleet-api-token-0123456789abcdef"

func newPlatformFleet(t *testing.T, replicas int) *platformFleet {
	t.Helper()
	f := &platformFleet{fleet: &fleet{redis: redistest.New(t), iss: verifiertest.NewIssuer(t, 4, liveBase), clk: &liveClock{t: liveBase},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}}}
	f.adult = f.iss.Issue(t, verifiertest.Adult(schemas.Date{Year: 2000, Month: time.January, Day: 1}), liveBase)
	f.epoch = f.iss.Publish(t, liveBase).Epoch
	vdir := t.TempDir()
	f.iss.Pin(t, vdir)
	reg := registrytest.New(t, jose.SuiteGM)
	p := reg.Register(t, "platform-a.example", registry.Entitlements{Predicates: registry.Predicates(),
		Claims: []string{schemas.ClaimAgeOver18}, LegalBasis: "test"})
	pl := &verifier.Platform{Domain: p.Domain, Chain: p.Chain, Key: p.Key, Registration: p.Registration, Status: p.Status}
	for range replicas {
		v, err := verifier.New(verifier.Options{Dir: vdir, Source: f.iss.Source(), Now: f.clk.now,
			AllowDevelopmentKeys: true, StoreURL: f.redis.URL()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		srv := httpserv.New(httpserv.Config{Rate: -1})
		if _, err := NewPlatform(srv, v, PlatformOptions{Platform: pl, APIToken: platformToken,
			PublicURL: "https://platform-a.example", RedirectURI: "https://platform-a.example/done",
			QuotaPerMinute: 10000, Now: f.clk.now, Logger: srv.Logger(), Metrics: srv.Metrics()}); err != nil {
			t.Fatal(err)
		}
		if err := NewReadiness(srv, v, ReadinessOptions{Now: f.clk.now}); err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		f.urls = append(f.urls, ts.URL)
		f.vs = append(f.vs, v)
	}
	return f
}

var bearer = http.Header{"Authorization": {"Bearer " + platformToken}}

// createTx makes a transaction on replica i.
func (f *platformFleet) createTx(t *testing.T, i int, policy string) (*http.Response, TransactionDocument) {
	t.Helper()
	resp, m := f.do(t, "POST", f.urls[i]+TransactionsPath, policy, bearer)
	var doc TransactionDocument
	if resp != nil && resp.StatusCode == http.StatusCreated {
		data, _ := json.Marshal(m)
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
	}
	return resp, doc
}

// answer is a wallet's direct_post form for the transaction: a real
// SD-JWT presentation of the request the store recorded.
func (f *platformFleet) answer(t *testing.T, doc TransactionDocument) string {
	t.Helper()
	return f.answerOn(t, 0, doc, false)
}

// answerOn is the direct_post form of a real answer (a zero-knowledge
// proof, or an SD-JWT presentation) to the transaction as replica i's
// store recorded it.
func (f *platformFleet) answerOn(t *testing.T, i int, doc TransactionDocument, zk bool) string {
	t.Helper()
	tx, err := f.vs[i].RecordedTransaction(context.Background(), doc.TransactionID)
	if err != nil {
		t.Error(err)
		return ""
	}
	var pres *verifier.Presentation
	if zk {
		pres = f.adult.Prove(t, tx.Request, f.epoch)
	} else {
		pres = f.adult.Present(t, tx.Request, nil, "", "", true, liveBase)
	}
	tok, err := wire.NewVPToken(pres)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"vp_token": {string(tok)}, "state": {doc.TransactionID}}.Encode()
}

// post sends a direct_post form to replica i.
func (f *platformFleet) post(t *testing.T, i int, form string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.urls[i]+ResponsePath, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.client.Do(req)
	if err != nil {
		t.Error(err)
		return nil, nil
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

// verdictOn reads the verdict from replica i with response code rc.
func (f *platformFleet) verdictOn(t *testing.T, i int, id, rc string) (int, map[string]any) {
	t.Helper()
	u := f.urls[i] + TransactionsPath + "/" + id
	if rc != "" {
		u += "?response_code=" + url.QueryEscape(rc)
	}
	resp, m := f.do(t, "GET", u, "", bearer)
	if resp == nil {
		return 0, nil
	}
	return resp.StatusCode, m
}

func responseCodeOf(t *testing.T, m map[string]any) string {
	t.Helper()
	u, err := url.Parse(m["redirect_uri"].(string))
	if err != nil || !strings.HasPrefix(u.String(), "https://platform-a.example/done?") {
		t.Fatalf("redirect_uri %v", m)
	}
	return u.Query().Get("response_code")
}

const (
	platformPolicy   = `{"age_over":18,"sd_jwt":["age_over_18"]}`
	zkPlatformPolicy = `{"age_over":18}`
)

// TestPlatformFleet: a transaction created on A is served by B, answered
// on C and reported by A; a replay on B is refused; a wrong response_code
// is refused everywhere; the same answer posted to every replica at once
// is taken once. Then Redis dies and comes back (redisDown); one fleet for
// both, since its setup is most of the time.
func TestPlatformFleet(t *testing.T) {
	f := newPlatformFleet(t, 3)
	t.Run("across replicas", func(t *testing.T) { acrossReplicas(t, f) })
	t.Run("Redis down", func(t *testing.T) { redisDown(t, f) })
}

func acrossReplicas(t *testing.T, f *platformFleet) {
	resp, doc := f.createTx(t, 0, platformPolicy)
	if resp == nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v", resp)
	}
	// request_uri on B: the object A signed, from the store.
	req, _ := http.NewRequest("GET", f.urls[1]+RequestPath+doc.TransactionID, nil)
	r, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != wire.RequestObjectMediaType || string(body) != doc.RequestObject {
		t.Fatalf("request_uri on B: %d %q", r.StatusCode, body)
	}
	// Pending on every replica before the answer.
	for i := range f.urls {
		if code, m := f.verdictOn(t, i, doc.TransactionID, ""); code != 200 || m["status"] != "pending" {
			t.Fatalf("replica %d before the answer: %d %v", i, code, m)
		}
	}
	form := f.answer(t, doc)
	resp, m := f.post(t, 2, form)
	if resp == nil || resp.StatusCode != 200 {
		t.Fatalf("answer on C: %v %v", resp, m)
	}
	rc := responseCodeOf(t, m)
	// The verdict on A, with the response code C gave.
	code, m := f.verdictOn(t, 0, doc.TransactionID, rc)
	if code != 200 || m["status"] != "complete" || m["result"].(map[string]any)["valid"] != true {
		t.Fatalf("verdict on A: %d %v", code, m)
	}
	// A wrong (or no) response code is refused on every replica.
	for i := range f.urls {
		for _, bad := range []string{"", "wrong", rc[:len(rc)-1] + "A"} {
			if bad == rc {
				continue
			}
			if code, m := f.verdictOn(t, i, doc.TransactionID, bad); code != http.StatusForbidden {
				t.Errorf("replica %d, response_code %q: %d %v", i, bad, code, m)
			}
		}
	}
	// The request object is no longer served, and a replay on B is
	// refused 400 invalid_request without changing the verdict.
	if code := f.fetchRO(t, 1, doc.TransactionID); code != 404 {
		t.Errorf("request_uri after the answer: %d", code)
	}
	if resp, m := f.post(t, 1, form); resp == nil || resp.StatusCode != 400 || m["error"] != wire.ErrorInvalidRequest {
		t.Fatalf("replay on B: %v %v", resp, m)
	}
	if code, m := f.verdictOn(t, 1, doc.TransactionID, rc); code != 200 || m["result"].(map[string]any)["valid"] != true {
		t.Fatalf("verdict after the replay: %d %v", code, m)
	}
	// An unknown transaction is 404, not pending.
	if code, _ := f.verdictOn(t, 2, "nope", ""); code != 404 {
		t.Errorf("unknown transaction: %d", code)
	}

	// One answer posted 30 times at once, spread over the replicas: taken
	// exactly once. A zero-knowledge answer goes through the replicas'
	// batches (several copies may meet in one), an SD-JWT one through the
	// same store.
	for _, zk := range []bool{true, false} {
		policy := platformPolicy
		if zk {
			policy = zkPlatformPolicy
		}
		_, doc2 := f.createTx(t, 1, policy)
		form2 := f.answerOn(t, 1, doc2, zk)
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			accepted []string
			refused  int
		)
		start := make(chan struct{})
		for g := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				resp, m := f.post(t, g%3, form2)
				if resp == nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case resp.StatusCode == 200:
					accepted = append(accepted, m["redirect_uri"].(string))
				case resp.StatusCode == 400 && m["error"] == wire.ErrorInvalidRequest:
					refused++
				default:
					t.Errorf("concurrent answer (zk %v): %d %v", zk, resp.StatusCode, m)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(accepted) != 1 || refused != 29 {
			t.Fatalf("zk %v: accepted %d, refused %d of 30", zk, len(accepted), refused)
		}
		rc2 := responseCodeOf(t, map[string]any{"redirect_uri": accepted[0]})
		for i := range f.urls {
			if code, m := f.verdictOn(t, i, doc2.TransactionID, rc2); code != 200 || m["result"].(map[string]any)["valid"] != true {
				t.Errorf("zk %v: verdict on replica %d: %d %v", zk, i, code, m)
			}
		}
		// Another transaction's response code does not read this one.
		if code, _ := f.verdictOn(t, 0, doc2.TransactionID, rc); code != http.StatusForbidden {
			t.Errorf("another transaction's response code: %d", code)
		}
	}
}

// fetchRO reads a request object from replica i and returns the status.
func (f *platformFleet) fetchRO(t *testing.T, i int, id string) int {
	t.Helper()
	code, _ := f.fetchBody(t, i, id)
	return code
}

// fetchBody reads a request object from replica i: the status and body.
func (f *platformFleet) fetchBody(t *testing.T, i int, id string) (int, string) {
	t.Helper()
	resp, err := f.client.Get(f.urls[i] + RequestPath + id)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// redisDown: Redis is killed (SIGKILL, as a crash). While it is down
// every replica is not ready ("store unavailable") and refuses to create,
// serve, decide or report (503 with Retry-After), and decides nothing;
// after it restarts from its append-only file the answer refused meanwhile
// is taken, and one taken before the crash is not taken again (its verdict
// survived).
func redisDown(t *testing.T, f *platformFleet) {
	// One answered before the crash: its consumption and verdict survive
	// it (Redis's append-only file), it is not taken again after.
	_, before := f.createTx(t, 2, platformPolicy)
	beforeForm := f.answer(t, before)
	resp, m := f.post(t, 0, beforeForm)
	if resp == nil || resp.StatusCode != 200 {
		t.Fatalf("answer before the crash: %v %v", resp, m)
	}
	beforeCode := responseCodeOf(t, m)
	_, doc := f.createTx(t, 0, platformPolicy)
	form := f.answer(t, doc)
	f.redis.Kill()
	for i := range f.urls {
		if resp, m := f.do(t, "GET", f.urls[i]+"/readyz", "", nil); resp == nil || resp.StatusCode != 503 || m["reason"] != "store unavailable" {
			t.Errorf("replica %d ready with Redis down: %v %v", i, resp, m)
		}
	}
	for i := range f.urls {
		if resp, m := f.createTx(t, i, platformPolicy); resp == nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("create on %d with Redis down: %v %v", i, resp, m)
		}
		if resp, m := f.post(t, i, form); resp == nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("answer on %d with Redis down: %v %v", i, resp, m)
		}
		if code := f.fetchRO(t, i, doc.TransactionID); code != 503 {
			t.Errorf("request_uri on %d with Redis down: %d", i, code)
		}
		if code, m := f.verdictOn(t, i, doc.TransactionID, ""); code != 503 {
			t.Errorf("verdict on %d with Redis down: %d %v", i, code, m)
		}
	}
	if err := f.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	// Resumes: the answer refused during the outage is taken now, once.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, m = f.post(t, 1, form); resp != nil && resp.StatusCode != 503 || time.Now().After(deadline) {
			break
		}
	}
	if resp == nil || resp.StatusCode != 200 {
		t.Fatalf("answer after the restart: %v %v", resp, m)
	}
	if code, m := f.verdictOn(t, 2, doc.TransactionID, responseCodeOf(t, m)); code != 200 || m["status"] != "complete" {
		t.Fatalf("verdict after the restart: %d %v", code, m)
	}
	if resp, _ := f.createTx(t, 2, platformPolicy); resp == nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create after the restart: %v", resp)
	}
	for i := range f.urls {
		if resp, m := f.post(t, i, beforeForm); resp == nil || resp.StatusCode != 400 || m["error"] != wire.ErrorInvalidRequest {
			t.Errorf("the answer taken before the crash, again on %d: %v %v", i, resp, m)
		}
		if resp, _ := f.do(t, "GET", f.urls[i]+"/readyz", "", nil); resp == nil || resp.StatusCode != 200 {
			t.Errorf("replica %d not ready after the restart: %v", i, resp)
		}
	}
	if code, m := f.verdictOn(t, 1, before.TransactionID, beforeCode); code != 200 || m["result"].(map[string]any)["valid"] != true {
		t.Fatalf("verdict of the answer taken before the crash: %d %v", code, m)
	}
}
