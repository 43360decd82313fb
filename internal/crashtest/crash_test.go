//go:build unix

package crashtest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// trialsEnv sets the number of trials (make crash: 200).
	trialsEnv = "YINZHENG_CRASH_TRIALS"
	// seedEnv replays a run with the seed it printed.
	seedEnv = "YINZHENG_CRASH_SEED"
	// defaultTrials is the short version in `make test`: two of each
	// operation.
	defaultTrials = 12
	pass          = "crash suite passphrase"
	// reasonUsed is the verifier's reason for a nonce already taken
	// (verifier.ReasonUnknownNonce; the suite reads the service's answers
	// as a client does, so it does not import the verifier).
	reasonUsed = "nonce unknown or already used"
	apiToken   = "crash-suite-platform-api-token-0123456789"
)

// operations are the six operations the trials are spread over.
var operations = []string{"issue", "revoke", "publish", "import", "refresh", "verify"}

// Violation categories: the figures of the closing note.
const (
	vLost        = "acknowledged lost"
	vSerialTwice = "serial delivered twice"
	vReSigned    = "epoch re-signed"
	vAcceptTwice = "presentation accepted twice"
	vHole        = "permanent hole"
	vPanic       = "panic"
	vRefused     = "reopen refused"
	vWrong       = "other inconsistency"
)

var categories = []string{vLost, vSerialTwice, vReSigned, vAcceptTwice, vHole, vPanic, vRefused, vWrong}

// result is one process run.
type result struct {
	args           []string
	stdout, stderr []byte
	exitErr        error
	// killed: SIGKILL reached the process while it ran (it had not exited).
	killed bool
	took   time.Duration
}

// acked is what the operator sees as success: exit status 0 before any kill.
func (r result) acked() bool { return r.exitErr == nil && !r.killed }

func (r result) String() string {
	stderr := r.stderr
	if len(stderr) > 1500 {
		stderr = stderr[len(stderr)-1500:] // the error is last
	}
	return fmt.Sprintf("%s: err %v, killed %v\nstdout: %.400s\nstderr: %s", strings.Join(r.args, " "), r.exitErr, r.killed, r.stdout, stderr)
}

// bundleRec is a bundle some acknowledged `issuer issue` delivered.
type bundleRec struct {
	serial   uint64
	epoch    uint64 // the latest acknowledged epoch when it was delivered
	wallet   string
	file     string
	imported bool
	// revokeTried: an `issuer revoke` of it ran; revoked: one was
	// acknowledged.
	revokeTried, revoked bool
}

// presRec is a presentation and, for the CLI verifier, its request.
type presRec struct {
	request, presentation string // files
	body                  []byte // the vp_token
	state                 string // the transaction (service presentations)
}

type suite struct {
	platform, tokenFile, port string

	t    *testing.T
	seed uint64
	rng  *rand.Rand
	bin  string
	root string
	iss  string
	env  []string
	seq  int

	wallets []string // wallets[0] proves for the verifier trials
	bundles []*bundleRec
	serials map[uint64]bool // every serial delivered
	roots   map[uint64][]byte
	// ackRoots: the root each acknowledged publish reported.
	ackRoots map[uint64]string
	latest   uint64 // latest epoch an acknowledged publish reported
	// walletEpoch: the epoch an acknowledged refresh brought a serial to.
	walletEpoch map[uint64]uint64
	// refreshed: the latest epoch when each wallet last refreshed.
	refreshed map[string]uint64
	sdLeft    int // unused SD-JWT copies in wallets[0]

	vHTTP, vCLI string
	srv         *server
	accepted    []presRec // by the service, each once
	acceptedCLI []presRec // by `verifier verify`, each once
	verifies    int

	calibrated map[string]time.Duration
	trials     map[string]int
	killed     map[string]int
	violations map[string][]string
}

func TestCrashSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a few hundred processes")
	}
	trials := defaultTrials
	if v := os.Getenv(trialsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a number of trials", trialsEnv, v)
		}
		trials = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(seedEnv); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a number", seedEnv, v)
		}
		seed = n
	}
	// Printed first, so that a failure can be replayed.
	fmt.Printf("crash suite: %d trials, seed %d (replay: %s=%d %s=%d)\n", trials, seed, seedEnv, seed, trialsEnv, trials)
	t.Logf("seed %d", seed)
	start := time.Now()
	s := &suite{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		root: t.TempDir(), serials: map[uint64]bool{}, roots: map[uint64][]byte{},
		ackRoots: map[uint64]string{}, walletEpoch: map[uint64]uint64{}, refreshed: map[string]uint64{},
		calibrated: map[string]time.Duration{}, trials: map[string]int{}, killed: map[string]int{},
		violations: map[string][]string{}}
	defer s.summary(start)
	s.build()
	t.Logf("build: %v", time.Since(start).Round(time.Millisecond))
	s.setup()
	t.Logf("setup: %v", time.Since(start).Round(time.Millisecond))
	plan := make([]string, trials)
	for i := range plan {
		plan[i] = operations[i%len(operations)]
	}
	s.rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	for i, op := range plan {
		s.trials[op]++
		began := time.Now()
		s.keepWithinDeltas()
		switch op {
		case "issue":
			s.trialIssue()
		case "revoke":
			s.trialRevoke()
		case "publish":
			s.trialPublish()
		case "import":
			s.trialImport()
		case "refresh":
			s.trialRefresh()
		case "verify":
			s.trialVerify()
		}
		t.Logf("trial %d: %s (%v)", i+1, op, time.Since(began).Round(time.Millisecond))
		if t.Failed() {
			t.Fatalf("stopped after trial %d (%s); replay with %s=%d %s=%d", i+1, op, seedEnv, seed, trialsEnv, trials)
		}
	}
	s.final()
}

// deltaWindow is how far behind a credential may fall before the suite
// brings it forward: a wallet more than 64 epochs behind needs a bucket,
// which an issuer directory does not publish (the service serves them),
// and the trials publish far more often than an issuer would.
const deltaWindow = 40

// keepWithinDeltas imports the bundles and refreshes the wallets that
// would otherwise fall out of the delta window (uncapped: not a trial).
func (s *suite) keepWithinDeltas() {
	s.t.Helper()
	for _, b := range s.bundles {
		if !b.imported && b.epoch+deltaWindow < s.latest {
			s.importBundle(b, -1)
		}
	}
	for _, w := range s.wallets {
		if s.refreshed[w]+deltaWindow < s.latest {
			s.must("holder", "refresh", "--dir", w, "--issuer-dir", s.iss)
			s.refreshed[w] = s.latest
		}
	}
}

// violate records a broken promise; the test fails at the end of the trial.
func (s *suite) violate(category, format string, args ...any) {
	s.t.Helper()
	msg := fmt.Sprintf(format, args...)
	s.violations[category] = append(s.violations[category], msg)
	s.t.Errorf("%s: %s (seed %d)", category, msg, s.seed)
}

func (s *suite) summary(start time.Time) {
	var b strings.Builder
	fmt.Fprintf(&b, "crash suite, seed %d, %s\n", s.seed, time.Since(start).Round(time.Second))
	fmt.Fprintf(&b, "%-10s %7s %22s\n", "operation", "trials", "killed mid-operation")
	total, totalKilled := 0, 0
	for _, op := range operations {
		fmt.Fprintf(&b, "%-10s %7d %22d\n", op, s.trials[op], s.killed[op])
		total += s.trials[op]
		totalKilled += s.killed[op]
	}
	fmt.Fprintf(&b, "%-10s %7d %22d\n", "all", total, totalKilled)
	var cal []string
	for _, op := range []string{"issue", "revoke", "publish", "import", "refresh", "post", "verify-cli"} {
		cal = append(cal, fmt.Sprintf("%s %v", op, s.calibrated[op].Round(time.Millisecond)))
	}
	fmt.Fprintf(&b, "kill delays drawn over 1.25 x the shortest run: %s\n", strings.Join(cal, ", "))
	fmt.Fprintf(&b, "delivered serials %d, acknowledged epochs up to %d, presentations accepted %d (service) + %d (CLI)\n",
		len(s.serials), s.latest, len(s.accepted), len(s.acceptedCLI))
	for _, c := range categories {
		fmt.Fprintf(&b, "violations: %-28s %d\n", c, len(s.violations[c]))
	}
	fmt.Print(b.String())
	s.t.Log("\n" + b.String())
}

// build compiles the binary once.
func (s *suite) build() {
	s.bin = filepath.Join(s.t.TempDir(), "yinzheng")
	cmd := exec.Command("go", "build", "-o", s.bin, "github.com/yinzheng-id/yinzheng/cmd/yinzheng")
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("go build: %v\n%s", err, out)
	}
}

// exec runs the binary with args. With kill >= 0 it sends SIGKILL after
// kill unless the process has exited by then.
func (s *suite) exec(kill time.Duration, args ...string) result {
	s.t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env
	cmd.Dir = s.root
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	if kill < 0 {
		err = <-done
	} else {
		timer := time.NewTimer(kill)
		select {
		case err = <-done:
			timer.Stop()
		case <-timer.C:
			cmd.Process.Signal(syscall.SIGKILL)
			err = <-done
		}
	}
	r := result{args: args, stdout: out.Bytes(), stderr: errOut.Bytes(), exitErr: err, took: time.Since(start)}
	// The wait status says whether the kill or the exit came first.
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		r.killed = true
	}
	s.checkPanics(strings.Join(args, " "), r.stderr)
	return r
}

// must runs args to completion and stops the suite if they fail: a step of
// the suite's own, not an operation under test.
func (s *suite) must(args ...string) result {
	s.t.Helper()
	r := s.exec(-1, args...)
	if !r.acked() {
		s.t.Fatalf("%v", r)
	}
	return r
}

// reopen runs args to completion after a kill; a failure is a refused
// reopen (the suite cannot go on).
func (s *suite) reopen(what string, args ...string) result {
	s.t.Helper()
	r := s.exec(-1, args...)
	if !r.acked() {
		s.violate(vRefused, "%s after a kill: %v", what, r)
		s.t.FailNow()
	}
	return r
}

func (s *suite) checkPanics(what string, stderr []byte) {
	s.t.Helper()
	if bytes.Contains(stderr, []byte("panic:")) || bytes.Contains(stderr, []byte("goroutine ")) {
		s.violate(vPanic, "%s: %.2000s", what, stderr)
	}
}

// delay draws a kill delay for op: uniform over 1.25 times its calibrated
// duration, so that kills land before, during and just after the work.
func (s *suite) delay(op string) time.Duration {
	d := s.calibrated[op]
	if d <= 0 {
		s.t.Fatalf("no calibration for %s", op)
	}
	return time.Duration(s.rng.Float64() * 1.25 * float64(d))
}

// calibrate keeps the shortest acknowledged run of op: on a loaded machine
// the first runs are the slow ones, and a delay drawn over a slow run's
// length would mostly land after the work.
func (s *suite) calibrate(op string, r result) {
	if !r.acked() {
		return
	}
	if d, ok := s.calibrated[op]; !ok || r.took < d {
		s.calibrated[op] = r.took
	}
}

func (s *suite) file(name string, data []byte) string {
	s.t.Helper()
	path := filepath.Join(s.root, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// residentID completes a GB 11643 number with its MOD 11-2 check character.
func residentID(region, birth string, seq int) string {
	base := fmt.Sprintf("%s%s%03d", region, birth, seq)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range base {
		sum += int(c-'0') * weights[i]
	}
	return base + string("10X98765432"[sum%11])
}

// subject writes a new person's enrolment record.
func (s *suite) subject() string {
	s.seq++
	year := 1960 + s.seq/900
	birth := fmt.Sprintf("%04d-03-%02d", year, 1+s.seq%28)
	doc, _ := json.Marshal(map[string]any{"doc_type": "resident_id",
		"doc_number": residentID("110101", strings.ReplaceAll(birth, "-", ""), 1+s.seq%900),
		"name":       fmt.Sprintf("测试%d", s.seq), "birth_date": birth, "region": "110101", "level": 3})
	return s.file(fmt.Sprintf("subject-%d.json", s.seq), doc)
}

func (s *suite) setup() {
	var reg string
	s.env = append(os.Environ(), "YINZHENG_PASSPHRASE="+pass)
	s.iss = filepath.Join(s.root, "issuer")
	s.must("issuer", "init", "--dir", s.iss, "--development-keys")
	for i := range 3 {
		w := filepath.Join(s.root, fmt.Sprintf("wallet%d", i))
		s.must("holder", "init", "--dir", w)
		s.wallets = append(s.wallets, w)
	}
	// Two credentials for the prover wallet; the runs calibrate the kill
	// delays of issue, publish, import and refresh.
	for range 2 {
		b := s.issueTo(s.wallets[0], -1)
		if b == nil {
			s.t.Fatal("setup: issue failed")
		}
		s.importBundle(b, -1)
	}
	// The wallet shows the copies of one credential, not the other's.
	s.sdLeft = 8
	s.publish(-1)
	s.calibrate("refresh", s.must("holder", "refresh", "--dir", s.wallets[0], "--issuer-dir", s.iss))
	// One credential of wallet 1 revoked, which calibrates revoke.
	b := s.issueTo(s.wallets[1], -1)
	s.importBundle(b, -1)
	s.calibrate("revoke", s.must("issuer", "revoke", "--dir", s.iss, "--serial", strconv.FormatUint(b.serial, 10)))
	b.revokeTried, b.revoked = true, true
	s.publish(-1)
	s.vHTTP = filepath.Join(s.root, "verifier-service")
	s.vCLI = filepath.Join(s.root, "verifier-cli")
	for _, v := range []string{s.vHTTP, s.vCLI} {
		s.must("verifier", "trust", "--dir", v, "--issuer-dir", s.iss, "--allow-development-keys", "--yes")
	}
	// The platform the requests are made under, registered with a
	// registrar every wallet pins; the service serves it on a fixed
	// loopback port (its public URL names the port, and it restarts there).
	reg, s.platform = filepath.Join(s.root, "registrar"), filepath.Join(s.root, "platform")
	rootCert := strings.TrimSpace(string(s.must("registry", "init", "--dir", reg).stdout))
	s.must("registry", "register", "--dir", reg, "--platform", "localhost", "--out", s.platform,
		"--predicates", "age_over", "--claims", "age_over_18", "--legal-basis", "crash suite")
	for _, w := range s.wallets {
		s.must("holder", "trust", "--dir", w, "--registry", rootCert)
	}
	s.tokenFile = s.file("api-token", []byte(apiToken))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	s.port = strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	ln.Close()
	s.srv = s.startServer()
	// Calibrate the service (one post) and the CLI verifier.
	p := s.httpPresentation(false)
	start := time.Now()
	if st, res := s.post(p); st != http.StatusOK || !res.Valid {
		s.t.Fatalf("setup: presentation refused: %d %+v", st, res)
	}
	s.calibrated["post"] = time.Since(start)
	s.accepted = append(s.accepted, p)
	c := s.cliPresentation(false)
	s.calibrate("verify-cli", s.must(s.verifyArgs(c)...))
	s.acceptedCLI = append(s.acceptedCLI, c)
}

// issueTo issues a bundle for a fresh holder request of wallet w, killing
// `issuer issue` after kill (no kill if negative). It returns the bundle
// when the issue was acknowledged.
func (s *suite) issueTo(w string, kill time.Duration) *bundleRec {
	s.t.Helper()
	hr := s.file(fmt.Sprintf("holder-request-%d.json", s.seq+1), s.must("holder", "request", "--dir", w).stdout)
	r := s.exec(kill, "issuer", "issue", "--dir", s.iss, "--subject", s.subject(), "--holder", hr)
	if kill >= 0 && r.killed {
		s.killed["issue"]++
	}
	if !r.acked() {
		if kill < 0 {
			s.t.Fatalf("%v", r)
		}
		return nil
	}
	s.calibrate("issue", r)
	var doc struct {
		Serial *uint64 `json:"serial"`
	}
	if err := json.Unmarshal(r.stdout, &doc); err != nil || doc.Serial == nil {
		s.violate(vWrong, "an acknowledged issue printed no bundle: %v", r)
		return nil
	}
	if s.serials[*doc.Serial] {
		s.violate(vSerialTwice, "serial %d delivered again", *doc.Serial)
	}
	s.serials[*doc.Serial] = true
	b := &bundleRec{serial: *doc.Serial, epoch: s.latest, wallet: w, file: s.file(fmt.Sprintf("bundle-%d.json", *doc.Serial), r.stdout)}
	s.bundles = append(s.bundles, b)
	return b
}

// importBundle imports b into its wallet (killed after kill if >= 0), and
// checks after the run that the wallet opens and holds b if the import was
// acknowledged.
func (s *suite) importBundle(b *bundleRec, kill time.Duration) {
	s.t.Helper()
	r := s.exec(kill, "holder", "import", "--dir", b.wallet, "--bundle", b.file, "--issuer-dir", s.iss)
	if kill >= 0 && r.killed {
		s.killed["import"]++
	}
	if kill < 0 && !r.acked() {
		s.violate(vLost, "the delivered bundle of serial %d cannot be imported: %v", b.serial, r)
		return
	}
	s.calibrate("import", r)
	held := s.list(b.wallet)
	_, in := held[b.serial]
	if r.acked() && !in {
		s.violate(vLost, "imported serial %d is not in the wallet after reopen", b.serial)
	}
	b.imported = in
}

// credential is one entry of `holder list`.
type credential struct {
	Serial  uint64 `json:"serial"`
	Epoch   uint64 `json:"epoch"`
	Pending bool   `json:"pending"`
	Revoked bool   `json:"revoked"`
}

// list opens wallet w (a reopen after any kill) and returns its credentials.
func (s *suite) list(w string) map[uint64]credential {
	s.t.Helper()
	r := s.reopen("holder list", "holder", "list", "--dir", w)
	var creds []credential
	if err := json.Unmarshal(r.stdout, &creds); err != nil {
		s.t.Fatalf("holder list: %v: %s", err, r.stdout)
	}
	out := map[uint64]credential{}
	for _, c := range creds {
		out[c.Serial] = c
	}
	return out
}

// publish runs `issuer publish` (killed after kill if >= 0) and, if it was
// acknowledged, records the epoch and root it reported.
func (s *suite) publish(kill time.Duration) result {
	s.t.Helper()
	r := s.exec(kill, "issuer", "publish", "--dir", s.iss)
	if kill < 0 && !r.acked() {
		s.violate(vRefused, "issuer publish: %v", r)
		s.t.FailNow()
	}
	if r.acked() {
		s.calibrate("publish", r)
		var doc struct {
			Epoch     uint64 `json:"epoch"`
			Root      string `json:"root"`
			LeafCount uint64 `json:"leaf_count"`
		}
		if err := json.Unmarshal(r.stdout, &doc); err != nil || doc.Epoch == 0 {
			s.violate(vWrong, "publish printed %q (%v)", r.stdout, err)
			return r
		}
		if doc.Epoch <= s.latest {
			s.violate(vReSigned, "publish reported epoch %d, but epoch %d was already acknowledged", doc.Epoch, s.latest)
		}
		s.latest = doc.Epoch
		s.ackRoots[doc.Epoch] = doc.Root
		for serial := range s.serials {
			if serial >= doc.LeafCount {
				s.violate(vLost, "epoch %d has %d leaves, but serial %d was delivered", doc.Epoch, doc.LeafCount, serial)
			}
		}
	}
	return r
}

// reopenIssuer is the check after any kill of an issuer command: the next
// publish must open the directory (repairing it), and public/ must hold
// every epoch with the statements already seen.
func (s *suite) reopenIssuer() {
	s.t.Helper()
	s.observePublic()
	s.publish(-1)
	s.checkPublic()
}

// observePublic reads every roots/E.jws: a statement seen once must never
// change (an epoch number is signed once).
func (s *suite) observePublic() {
	s.t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.iss, "public", "roots", "*.jws"))
	for _, f := range files {
		e, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(f), ".jws"), 10, 64)
		if err != nil {
			continue // latest.jws
		}
		data, err := os.ReadFile(f)
		if err != nil {
			s.t.Fatal(err)
		}
		if old, ok := s.roots[e]; ok && !bytes.Equal(old, data) {
			s.violate(vReSigned, "roots/%d.jws changed", e)
		}
		s.roots[e] = data
		if root, ok := s.ackRoots[e]; ok && statementRoot(data) != root {
			s.violate(vReSigned, "epoch %d was published with root %s, roots/%d.jws now says %s", e, root, e, statementRoot(data))
		}
	}
}

// statementRoot reads the root from a root statement's payload.
func statementRoot(jws []byte) string {
	parts := strings.Split(string(bytes.TrimSpace(jws)), ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var st struct {
		Root string `json:"root"`
	}
	json.Unmarshal(payload, &st)
	return st.Root
}

// checkPublic: after a reopen every epoch 1..latest has its statement and
// delta.
func (s *suite) checkPublic() {
	s.t.Helper()
	s.observePublic()
	for e := uint64(1); e <= s.latest; e++ {
		for _, f := range []string{fmt.Sprintf("roots/%d.jws", e), fmt.Sprintf("deltas/%d.json", e)} {
			if _, err := os.Stat(filepath.Join(s.iss, "public", f)); err != nil {
				s.violate(vHole, "after reopen public/%s is missing: %v", f, err)
			}
		}
	}
}

func (s *suite) trialIssue() {
	s.issueTo(s.wallets[1+s.rng.IntN(2)], s.delay("issue"))
	s.reopenIssuer()
}

func (s *suite) trialRevoke() {
	var cands []*bundleRec
	for _, b := range s.bundles {
		if b.wallet != s.wallets[0] && b.imported && !b.revokeTried {
			cands = append(cands, b)
		}
	}
	if len(cands) == 0 {
		b := s.issueTo(s.wallets[1+s.rng.IntN(2)], -1)
		s.importBundle(b, -1)
		cands = append(cands, b)
	}
	b := cands[s.rng.IntN(len(cands))]
	r := s.exec(s.delay("revoke"), "issuer", "revoke", "--dir", s.iss, "--serial", strconv.FormatUint(b.serial, 10))
	if r.killed {
		s.killed["revoke"]++
	}
	s.calibrate("revoke", r)
	b.revokeTried = true
	b.revoked = r.acked()
	s.reopenIssuer()
	s.refreshAndCheck(b.wallet)
}

// refreshAndCheck refreshes wallet w to completion (it must cross every
// epoch) and checks each credential's revocation against what was
// acknowledged, and that each reached the latest epoch.
func (s *suite) refreshAndCheck(w string) {
	s.t.Helper()
	r := s.exec(-1, "holder", "refresh", "--dir", w, "--issuer-dir", s.iss)
	if !r.acked() {
		s.violate(vHole, "holder refresh after reopen: %v", r)
		return
	}
	s.refreshed[w] = s.latest
	for serial, c := range s.list(w) {
		b := s.bundleOf(serial)
		switch {
		case b == nil:
			s.violate(vWrong, "wallet holds serial %d, which no acknowledged issue delivered", serial)
		case b.revoked && !c.Revoked:
			s.violate(vLost, "the acknowledged revocation of serial %d is not visible after reopen", serial)
		case !b.revokeTried && c.Revoked:
			s.violate(vWrong, "serial %d reads revoked but was never revoked", serial)
		case !c.Revoked && !c.Pending && c.Epoch != s.latest:
			s.violate(vHole, "serial %d refreshed to epoch %d, not the latest %d", serial, c.Epoch, s.latest)
		}
	}
}

func (s *suite) bundleOf(serial uint64) *bundleRec {
	for _, b := range s.bundles {
		if b.serial == serial {
			return b
		}
	}
	return nil
}

func (s *suite) trialPublish() {
	r := s.publish(s.delay("publish")) // calibrates when acknowledged
	if r.killed {
		s.killed["publish"]++
	}
	s.reopenIssuer()
}

func (s *suite) trialImport() {
	var cands []*bundleRec
	for _, b := range s.bundles {
		if !b.imported {
			cands = append(cands, b)
		}
	}
	if len(cands) == 0 {
		if b := s.issueTo(s.wallets[1+s.rng.IntN(2)], -1); b != nil {
			cands = append(cands, b)
		}
	}
	s.importBundle(cands[s.rng.IntN(len(cands))], s.delay("import"))
}

func (s *suite) trialRefresh() {
	w := s.wallets[1+s.rng.IntN(2)]
	if len(s.list(w)) == 0 {
		b := s.issueTo(w, -1)
		s.importBundle(b, -1)
	}
	// Something to refresh across: one or two new epochs.
	for range 1 + s.rng.IntN(2) {
		s.publish(-1)
	}
	r := s.exec(s.delay("refresh"), "holder", "refresh", "--dir", w, "--issuer-dir", s.iss)
	if r.killed {
		s.killed["refresh"]++
	}
	s.calibrate("refresh", r)
	if r.acked() {
		var reps []struct {
			Serial  uint64 `json:"serial"`
			ToEpoch uint64 `json:"to_epoch"`
			Revoked bool   `json:"revoked"`
			Pending bool   `json:"pending"`
		}
		if err := json.Unmarshal(r.stdout, &reps); err != nil {
			s.violate(vWrong, "refresh printed %q: %v", r.stdout, err)
		}
		for _, rep := range reps {
			if !rep.Revoked && !rep.Pending {
				s.walletEpoch[rep.Serial] = rep.ToEpoch
			}
		}
	}
	for serial, c := range s.list(w) {
		if e := s.walletEpoch[serial]; !c.Revoked && c.Epoch < e {
			s.violate(vLost, "serial %d was refreshed to epoch %d, the wallet reopened at %d", serial, e, c.Epoch)
		}
	}
	s.refreshAndCheck(w)
}

// The verifier trials: the service (kill -9 while presentations are
// posted) and `verifier verify`, in turn.
func (s *suite) trialVerify() {
	s.verifies++
	if s.verifies%2 == 1 {
		s.trialVerifyService()
	} else {
		s.trialVerifyCLI()
	}
}

func (s *suite) trialVerifyService() {
	s.must("holder", "refresh", "--dir", s.wallets[0], "--issuer-dir", s.iss)
	// The service caches the issuer's publication for a minute, and the
	// suite publishes epochs seconds apart: a request made from that cache
	// would name an epoch the wallet no longer answers under (it answers
	// only under the latest and publication.EpochGrace before it). A
	// graceful restart drops the cache, as epochs minutes apart would.
	s.srv.stop()
	s.srv = s.startServer()
	var ps []presRec
	for i := range 3 {
		ps = append(ps, s.httpPresentation(i == 0 && s.sdLeft > 0))
	}
	accepted := make([]bool, len(ps))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, p := range ps {
			st, res, err := s.tryPost(p)
			if err != nil {
				return // the service is gone
			}
			accepted[i] = st == http.StatusOK && res.Valid
		}
	}()
	time.Sleep(time.Duration(s.rng.Float64() * 1.25 * float64(len(ps)) * float64(s.calibrated["post"])))
	select {
	case <-done:
	default:
		s.killed["verify"]++
	}
	s.srv.kill()
	<-done
	s.srv = s.startServer()
	for i, p := range ps {
		st, res := s.post(p)
		now := st == http.StatusOK && res.Valid
		switch {
		case now && accepted[i]:
			s.violate(vAcceptTwice, "a presentation accepted before the kill was accepted again after restart")
		case now:
			s.accepted = append(s.accepted, p)
		case accepted[i]:
			s.accepted = append(s.accepted, p)
		}
	}
	for _, p := range s.accepted {
		if st, res := s.post(p); st == http.StatusOK || res.Valid {
			s.violate(vAcceptTwice, "an accepted presentation was accepted again (%d %+v)", st, res)
		}
	}
}

func (s *suite) trialVerifyCLI() {
	s.must("holder", "refresh", "--dir", s.wallets[0], "--issuer-dir", s.iss)
	p := s.cliPresentation(s.sdLeft > 0 && s.rng.IntN(3) == 0)
	r := s.exec(s.delay("verify-cli"), s.verifyArgs(p)...)
	if r.killed {
		s.killed["verify"]++
	}
	s.calibrate("verify-cli", r)
	first := r.acked()
	again := s.exec(-1, s.verifyArgs(p)...)
	if again.acked() {
		if first {
			s.violate(vAcceptTwice, "`verifier verify` accepted a presentation again after reopen")
		}
		first = true
	} else if !bytes.Contains(again.stdout, []byte(reasonUsed)) {
		s.violate(vRefused, "`verifier verify` after a kill: %v", again)
	}
	if first {
		s.acceptedCLI = append(s.acceptedCLI, p)
	}
	if r := s.exec(-1, s.verifyArgs(p)...); r.acked() {
		s.violate(vAcceptTwice, "`verifier verify` accepted a presentation a third time")
	}
}

func (s *suite) verifyArgs(p presRec) []string {
	return []string{"verifier", "verify", "--dir", s.vCLI, "--issuer-dir", s.iss, "--allow-development-keys",
		"--request", p.request, "--presentation", p.presentation}
}

// answer makes wallet 0 answer the request in file req.
func (s *suite) answer(req string, sdjwt bool) []byte {
	s.t.Helper()
	if sdjwt {
		s.sdLeft--
		return s.must("holder", "present", "--dir", s.wallets[0], "--request", req, "--yes").stdout
	}
	return s.must("holder", "prove", "--dir", s.wallets[0], "--request", req, "--issuer-dir", s.iss, "--yes").stdout
}

// cliPresentation makes a request with `verifier request` and answers it.
func (s *suite) cliPresentation(sdjwt bool) presRec {
	s.t.Helper()
	args := []string{"verifier", "request", "--dir", s.vCLI, "--issuer-dir", s.iss, "--allow-development-keys", "--platform", s.platform}
	if sdjwt {
		args = append(args, "--sd-jwt", "age_over_18")
	} else {
		args = append(args, "--age-over", "18")
	}
	s.seq++
	var tx struct {
		RequestObject string `json:"request_object"`
	}
	if err := json.Unmarshal(s.must(args...).stdout, &tx); err != nil {
		s.t.Fatal(err)
	}
	req := s.file(fmt.Sprintf("request-%d.jwt", s.seq), []byte(tx.RequestObject))
	pres := s.answer(req, sdjwt)
	return presRec{request: req, presentation: s.file(fmt.Sprintf("presentation-%d.json", s.seq), pres), body: pres}
}

// httpPresentation has the platform create a transaction and answers it.
func (s *suite) httpPresentation(sdjwt bool) presRec {
	s.t.Helper()
	policy := `{"age_over":18}`
	if sdjwt {
		policy = `{"sd_jwt":["age_over_18"]}`
	}
	req, _ := http.NewRequest("POST", s.srv.url+"/v1/transactions", strings.NewReader(policy))
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	var tx struct {
		TransactionID string `json:"transaction_id"`
		RequestObject string `json:"request_object"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tx)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		s.t.Fatalf("POST /v1/transactions: %d %v", resp.StatusCode, err)
	}
	s.seq++
	file := s.file(fmt.Sprintf("request-%d.jwt", s.seq), []byte(tx.RequestObject))
	return presRec{request: file, body: s.answer(file, sdjwt), state: tx.TransactionID}
}

type verdict struct {
	Valid   bool     `json:"valid"`
	Reasons []string `json:"reasons"`
}

var client = &http.Client{Timeout: time.Minute}

// tryPost posts p's vp_token with direct_post and, when the service takes
// it (200), reads the verdict as the platform's backend does; a refused
// post (a transaction answered already, or unknown) is its status with a
// refusal. The service keeps its transactions in the verifier's store,
// not in memory, so one left open by a kill can still be answered after
// the restart, once.
func (s *suite) tryPost(p presRec) (int, verdict, error) {
	form := url.Values{"vp_token": {string(p.body)}, "state": {p.state}}
	resp, err := client.PostForm(s.srv.url+"/openid4vp/response", form)
	if err != nil {
		return 0, verdict{}, err
	}
	defer resp.Body.Close()
	var ans struct {
		RedirectURI string `json:"redirect_uri"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return resp.StatusCode, verdict{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, verdict{Reasons: []string{ans.Error}}, nil
	}
	u, err := url.Parse(ans.RedirectURI)
	if err != nil {
		return resp.StatusCode, verdict{}, err
	}
	req, _ := http.NewRequest("GET", s.srv.url+"/v1/transactions/"+p.state+"?response_code="+url.QueryEscape(u.Query().Get("response_code")), nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	vresp, err := client.Do(req)
	if err != nil {
		return 0, verdict{}, err
	}
	defer vresp.Body.Close()
	var doc struct {
		Result verdict `json:"result"`
	}
	if err := json.NewDecoder(vresp.Body).Decode(&doc); err != nil || vresp.StatusCode != http.StatusOK {
		return vresp.StatusCode, verdict{}, fmt.Errorf("verdict: %d %v", vresp.StatusCode, err)
	}
	return resp.StatusCode, doc.Result, nil
}

func (s *suite) post(p presRec) (int, verdict) {
	s.t.Helper()
	st, v, err := s.tryPost(p)
	if err != nil {
		s.t.Fatalf("POST /response: %v", err)
	}
	return st, v
}

// server is a running `serve verifier`.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	done   chan error
	s      *suite
}

func (s *suite) startServer() *server {
	s.t.Helper()
	cmd := exec.Command(s.bin, "serve", "verifier", "--dir", s.vHTTP, "--issuer-dir", s.iss,
		"--allow-development-keys", "--addr", "127.0.0.1:"+s.port, "--rate", "0",
		"--platform", s.platform, "--api-token-file", s.tokenFile,
		"--public-url", "http://localhost:"+s.port, "--redirect-uri", "http://localhost:"+s.port+"/done")
	cmd.Env = s.env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	srv := &server{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan error, 1), s: s}
	cmd.Stderr = srv.stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
	}()
	var l string
	select {
	case l = <-line:
	case <-time.After(time.Minute):
	}
	const prefix = "verifier service listening on "
	if !strings.HasPrefix(l, prefix) {
		cmd.Process.Kill()
		cmd.Wait()
		s.checkPanics("serve verifier", srv.stderr.Bytes())
		s.violate(vRefused, "serve verifier did not start: %q %.1000s", l, srv.stderr.String())
		s.t.FailNow()
	}
	srv.url = strings.TrimSpace(strings.TrimPrefix(l, prefix))
	go func() { srv.done <- cmd.Wait() }()
	// A failed trial stops the test where it is: no service left behind.
	s.t.Cleanup(func() { cmd.Process.Kill() })
	return srv
}

func (srv *server) kill() {
	srv.cmd.Process.Signal(syscall.SIGKILL)
	<-srv.done
	srv.s.checkPanics("serve verifier", srv.stderr.Bytes())
}

func (srv *server) stop() {
	srv.cmd.Process.Signal(syscall.SIGTERM)
	<-srv.done
	srv.s.checkPanics("serve verifier", srv.stderr.Bytes())
}

// final: every delivered bundle imports and refreshes across every epoch,
// every acknowledged revocation shows, a credential still proves, and no
// accepted presentation is accepted again.
func (s *suite) final() {
	s.reopenIssuer()
	for _, b := range s.bundles {
		if !b.imported {
			s.importBundle(b, -1)
		}
	}
	for _, w := range s.wallets {
		s.refreshAndCheck(w)
	}
	for _, p := range s.accepted {
		if st, res := s.post(p); st == http.StatusOK || res.Valid {
			s.violate(vAcceptTwice, "an accepted presentation was accepted again at the end (%d %+v)", st, res)
		}
	}
	for _, p := range s.acceptedCLI {
		if r := s.exec(-1, s.verifyArgs(p)...); r.acked() {
			s.violate(vAcceptTwice, "`verifier verify` accepted a presentation again at the end")
		}
	}
	// Wallet 0 crossed every epoch in the verify trials; a fresh proof
	// from it still verifies.
	s.must("holder", "refresh", "--dir", s.wallets[0], "--issuer-dir", s.iss)
	// A restart (graceful this time) also drops the service's cached
	// publication, older than the epochs published since it started: a
	// request it made from that cache would be answered under a root
	// already superseded.
	s.srv.stop()
	s.srv = s.startServer()
	if st, res := s.post(s.httpPresentation(false)); st != http.StatusOK || !res.Valid {
		s.violate(vHole, "a fresh proof after all the trials was refused: %d %+v", st, res)
	}
	s.srv.stop()
	var serials []uint64
	for serial := range s.serials {
		serials = append(serials, serial)
	}
	sort.Slice(serials, func(i, j int) bool { return serials[i] < serials[j] })
	s.t.Logf("serials delivered: %v", serials)
}
