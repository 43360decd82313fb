package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/internal/seal"
	"github.com/yinzheng-id/yinzheng/issuer"
	issuerapi "github.com/yinzheng-id/yinzheng/issuer/httpapi"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/openid4vci"
)

// IssuanceReport is what `bench issuance` measures.
type IssuanceReport struct {
	Suite       jose.Suite `json:"suite"`
	Depth       int        `json:"depth"`
	Issuances   int        `json:"issuances"`
	Concurrency int        `json:"concurrency"`
	Copies      int        `json:"sd_jwt_copies"`
	Seconds     float64    `json:"seconds"`
	PerSecond   float64    `json:"issuances_per_second"`
	// FlowMsMedian is one whole flow (enrol, token, nonce, proofs, both
	// credential requests); CredentialMsMedian the SD-JWT credential
	// request alone (proof checks and the issuance).
	FlowMsMedian       float64 `json:"flow_ms_median"`
	CredentialMsMedian float64 `json:"credential_ms_median"`
	NumCPU             int     `json:"num_cpu"`
}

// runBenchIssuance implements `yinzheng bench issuance [--n N]
// [--concurrency C] [--suite gm|intl] --json`: issuances per second through
// the OpenID4VCI flow of a loopback issuer service, the wallet side driven
// by hand (keys, proofs, requests) so that the figure is the service's.
func runBenchIssuance(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench issuance", stderr)
	n := fs.Int("n", 200, "issuances to run")
	conc := fs.Int("concurrency", 4, "wallets running at once")
	suite := fs.String("suite", "gm", "issuer suite: gm or intl")
	keys := fs.String("keys", "", "directory for cached development keys (default: user cache)")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 || *n > 100000 || *conc < 1 || *conc > 256 {
		return usageError("--n must be 1…100000 and --concurrency 1…256")
	}
	if *suite != string(jose.SuiteGM) && *suite != string(jose.SuiteIntl) {
		return usageError("--suite must be gm or intl")
	}
	r, err := benchIssuance(*n, *conc, jose.Suite(*suite), *keys, stderr)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, r)
	}
	_, err = fmt.Fprintf(stdout, "%s depth %d: %d issuances (%d SD-JWT copies each) over OpenID4VCI, %d at once: %.1f issuances/s\n"+
		"whole flow %.1f ms, SD-JWT credential request %.1f ms (medians; %d CPUs, client and service on one machine)\n",
		r.Suite, r.Depth, r.Issuances, r.Copies, r.Concurrency, r.PerSecond, r.FlowMsMedian, r.CredentialMsMedian, r.NumCPU)
	return err
}

func benchIssuance(n, conc int, suite jose.Suite, keysDir string, stderr io.Writer) (*IssuanceReport, error) {
	if keysDir == "" {
		var err error
		if keysDir, err = bench.DefaultKeysDir(circuits.ProductionDepth); err != nil {
			return nil, err
		}
	}
	tmp, err := os.MkdirTemp("", "yinzheng-bench-issuance-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	pass := []byte("bench issuance")
	dir := tmp + "/issuer"
	fmt.Fprintf(stderr, "bench issuance: issuer directory (%s, development keys)\n", suite)
	if err := issuer.Init(dir, pass, issuer.Options{Suite: suite, DevelopmentKeys: true, DevelopmentKeysDir: keysDir,
		KDF: seal.Params{Time: 1, Memory: 64, Threads: 1}}); err != nil {
		return nil, err
	}
	iss, err := issuer.Open(dir, pass)
	if err != nil {
		return nil, err
	}
	defer iss.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	const admin = "bench-issuance-admin-token"
	srv := httpserv.New(httpserv.Config{Name: "issuer", Rate: -1})
	if _, err := issuerapi.New(srv, issuerapi.FromIssuer(iss), issuerapi.Options{Dir: dir, PublicURL: base,
		AdminToken: []byte(admin), MaxOffers: 2*n + 16}); err != nil {
		ln.Close()
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() { stop(); <-served }()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	fmt.Fprintf(stderr, "bench issuance: %d issuances, %d at once\n", n, conc)
	flows := make([]time.Duration, n)
	creds := make([]time.Duration, n)
	errs := make(chan error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for i := range next {
				t0 := time.Now()
				d, err := oneIssuance(client, base, admin, iss.Metadata().Issuer, suite, i)
				if err != nil {
					errs <- fmt.Errorf("issuance %d: %w", i, err)
					continue
				}
				flows[i], creds[i] = time.Since(t0), d
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return &IssuanceReport{Suite: suite, Depth: circuits.ProductionDepth, Issuances: n, Concurrency: conc,
		Copies: issuerapi.DefaultBatchSize, Seconds: elapsed.Seconds(), PerSecond: float64(n) / elapsed.Seconds(),
		FlowMsMedian: medianMs(flows), CredentialMsMedian: medianMs(creds), NumCPU: runtime.NumCPU()}, nil
}

func medianMs(d []time.Duration) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}

// oneIssuance runs the OpenID4VCI flow for person i and returns the time
// of the SD-JWT credential request.
func oneIssuance(c *http.Client, base, admin, issuerID string, suite jose.Suite, i int) (time.Duration, error) {
	// Distinct people: a birth date per thousand, a sequence number within.
	birth := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/1000)
	subject := fmt.Sprintf(`{"doc_type":"resident_id","doc_number":%q,"name":"测试%d","birth_date":%q,"region":"110101","level":2}`,
		demoResidentID("110101", birth, fmt.Sprintf("%03d", i%1000)), i, birth.Format("2006-01-02"))
	var e issuerapi.Enrolment
	if err := benchCall(c, "POST", base+"/admin/offers", admin, "application/json", []byte(subject), http.StatusCreated, &e); err != nil {
		return 0, err
	}
	form := url.Values{"grant_type": {openid4vci.GrantPreAuthorizedCode},
		"pre-authorized_code": {e.CredentialOffer.Grants.PreAuthorizedCode.PreAuthorizedCode}, "tx_code": {e.TxCode}}
	var tok openid4vci.TokenResponse
	if err := benchCall(c, "POST", base+"/token", "", "application/x-www-form-urlencoded", []byte(form.Encode()), 200, &tok); err != nil {
		return 0, err
	}
	var nonce openid4vci.NonceResponse
	if err := benchCall(c, "POST", base+"/nonce", "", "", nil, 200, &nonce); err != nil {
		return 0, err
	}
	req := openid4vci.CredentialRequest{CredentialConfigurationID: openid4vci.ConfigSDJWT, Proofs: &openid4vci.Proofs{},
		HolderCommitment: fmt.Sprintf("0x%064x", 1000003+i)}
	for range issuerapi.DefaultBatchSize {
		k, err := jose.GenerateKey(suite, nil)
		if err != nil {
			return 0, err
		}
		p, err := openid4vci.SignProof(k, issuerID, nonce.CNonce, time.Now())
		if err != nil {
			return 0, err
		}
		req.Proofs.JWT = append(req.Proofs.JWT, p)
	}
	body, _ := json.Marshal(&req)
	t0 := time.Now()
	var sd openid4vci.CredentialResponse
	if err := benchCall(c, "POST", base+"/credential", tok.AccessToken, "application/json", body, 200, &sd); err != nil {
		return 0, err
	}
	d := time.Since(t0)
	if len(sd.Credentials) != issuerapi.DefaultBatchSize {
		return 0, fmt.Errorf("%d SD-JWT copies", len(sd.Credentials))
	}
	body, _ = json.Marshal(openid4vci.CredentialRequest{CredentialConfigurationID: openid4vci.ConfigZK})
	var zk openid4vci.CredentialResponse
	if err := benchCall(c, "POST", base+"/credential", tok.AccessToken, "application/json", body, 200, &zk); err != nil {
		return 0, err
	}
	return d, nil
}

func benchCall(c *http.Client, method, u, token, ctype string, body []byte, want int, out any) error {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s: HTTP %d: %s", req.URL.Path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return errors.New(req.URL.Path + ": answer is not JSON")
	}
	return nil
}
