package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/holder"
	"github.com/yinzheng-id/yinzheng/issuer"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/registry"
	"github.com/yinzheng-id/yinzheng/verifier"
)

// demoPassphrase seals the demo's keys and wallets. The demo's directory is
// temporary; a real deployment reads YINZHENG_PASSPHRASE or prompts.
const demoPassphrase = "yinzheng demo passphrase"

// runDemo runs the main job end to end in a temporary directory with
// embedded defaults: an issuer enrols three people, their wallets prove
// predicates to platforms, a revocation takes effect, and one SD-JWT
// presentation discloses a single claim.
func runDemo(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	keep := fs.Bool("keep", false, "keep the demo directory instead of removing it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "yinzheng-demo-")
	if err != nil {
		return err
	}
	if *keep {
		defer fmt.Fprintf(stdout, "\nthe demo directory is kept: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	d := &demo{dir: dir, out: stdout, started: time.Now(), now: time.Now().UTC()}
	fmt.Fprintf(stdout, "Yinzheng demo in %s (embedded Badger stores, development circuit keys)\n\n", dir)
	if err := d.run(context.Background()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ndemo complete in %s\n", round(time.Since(d.started)))
	return nil
}

type demo struct {
	dir     string
	out     io.Writer
	started time.Time
	now     time.Time
	steps   int

	iss     *issuer.Issuer
	src     publication.Source
	wallets map[string]*holder.Wallet
	serials map[string]uint64

	roots     *registry.Roots
	platforms map[string]*verifier.Platform
}

// person is one enrolment of the demo.
type person struct {
	key, label string
	age        int
	subject    issuer.Subject
}

func (d *demo) people() []person {
	birth := func(age int) time.Time { return d.now.AddDate(-age, 0, -40) }
	subject := func(name, region string, age, level int, guardian bool) issuer.Subject {
		s := issuer.Subject{DocType: "resident_id", DocNumber: demoResidentID(region, birth(age), "012"), Name: name,
			BirthDate: birth(age).Format(time.DateOnly), Region: region, Level: level}
		if guardian {
			s.Guardian = &issuer.Guardian{DocType: "resident_id", DocNumber: demoResidentID("110101", birth(45), "021"),
				Consent: true, Time: d.now.Add(-time.Hour).Format(time.RFC3339)}
		}
		return s
	}
	return []person{
		{"adult", "张伟, 34", 34, subject("张伟", "110101", 34, 3, false)},
		{"teen", "李娜, 15, guardian acknowledgement", 15, subject("李娜", "310101", 15, 2, true)},
		{"child", "王小明, 12, guardian consent", 12, subject("王小明", "440101", 12, 2, true)},
	}
}

// demoResidentID makes a well-formed (fictitious) resident ID number:
// region, birth date, sequence and the GB 11643 check character.
func demoResidentID(region string, birth time.Time, seq string) string {
	body := region + birth.Format("20060102") + seq
	sum := 0
	for i, c := range body {
		sum += int(c-'0') * ((1 << (17 - i)) % 11)
	}
	return body + string("10X98765432"[sum%11])
}

// step runs f and prints its outcome with its duration.
func (d *demo) step(title string, f func() (string, error)) error {
	d.steps++
	fmt.Fprintf(d.out, "%2d. %s\n", d.steps, title)
	start := time.Now()
	detail, err := f()
	if err != nil {
		fmt.Fprintf(d.out, "    FAILED after %s: %v\n", round(time.Since(start)), err)
		return fmt.Errorf("step %d (%s): %w", d.steps, title, err)
	}
	for _, line := range strings.Split(strings.TrimRight(detail, "\n"), "\n") {
		if line != "" {
			fmt.Fprintf(d.out, "    %s\n", line)
		}
	}
	fmt.Fprintf(d.out, "    (%s)\n", round(time.Since(start)))
	return nil
}

func round(t time.Duration) time.Duration {
	if t > time.Second {
		return t.Round(10 * time.Millisecond)
	}
	return t.Round(100 * time.Microsecond)
}

func (d *demo) run(ctx context.Context) error {
	issuerDir := filepath.Join(d.dir, "issuer")
	d.wallets, d.serials = map[string]*holder.Wallet{}, map[string]uint64{}
	defer func() {
		for _, w := range d.wallets {
			w.Close()
		}
		if d.iss != nil {
			d.iss.Close()
		}
	}()

	if err := d.step("issuer init: SM2 issuer key, 网号 secret, accumulator (depth 32), circuit keys", func() (string, error) {
		keys, err := bench.DefaultKeysDir(circuits.ProductionDepth)
		if err != nil {
			return "", err
		}
		p := newProgress(d.out)
		err = issuer.Init(issuerDir, []byte(demoPassphrase), issuer.Options{DevelopmentKeys: true, DevelopmentKeysDir: keys, Progress: p.stage})
		p.stop()
		if err != nil {
			return "", err
		}
		if d.iss, err = issuer.Open(issuerDir, []byte(demoPassphrase)); err != nil {
			return "", err
		}
		d.src = publication.DirSource(issuerDir)
		m := d.iss.Metadata()
		return fmt.Sprintf("issuer %s, key id %s\ncircuit %s (development keys: their setup randomness is public)", m.Issuer, m.KID, m.CircuitID), nil
	}); err != nil {
		return err
	}

	for _, p := range d.people() {
		if err := d.step("enrol and issue: "+p.label, func() (string, error) { return d.enrol(ctx, p) }); err != nil {
			return err
		}
	}
	if err := d.step("issuer publishes one epoch for the three issuances (`serve issuer` does it every --epoch-interval)", func() (string, error) {
		e, err := d.iss.Publish()
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("epoch %d, leaf_count %d, root %s…: no root names a single credential", e.Epoch, e.LeafCount, zkhash.FormatElement(e.Root)[:18]), nil
	}); err != nil {
		return err
	}
	if err := d.step("each wallet refreshes: the epoch's delta, the same download for every holder, completes its path", func() (string, error) {
		var lines []string
		for _, p := range d.people() {
			reps, err := d.wallets[p.key].Refresh(ctx, d.src)
			if err != nil {
				return "", err
			}
			for _, r := range reps {
				if r.Pending {
					return "", fmt.Errorf("serial %d is still pending after the epoch", r.Serial)
				}
				lines = append(lines, fmt.Sprintf("%s: serial %d now under the signed root of epoch %d (%d delta)", p.key, r.Serial, r.ToEpoch, r.Deltas))
			}
		}
		return strings.Join(lines, "\n"), nil
	}); err != nil {
		return err
	}

	if err := d.step("registrar init (SM2 root) registers platform-a.example and platform-b.example (age_over), kids.example (age_under, guardian_consent), shop.example (age_over_18 in clear); each wallet pins the registrar root", func() (string, error) {
		return d.registerPlatforms()
	}); err != nil {
		return err
	}
	platformA, err := d.newPlatform("platform-a.example")
	if err != nil {
		return err
	}
	defer platformA.v.Close()
	platformB, err := d.newPlatform("platform-b.example")
	if err != nil {
		return err
	}
	defer platformB.v.Close()
	over18 := verifier.Policy{AgeOver: intPtr(18)}

	var pseudonymA, pseudonymB string
	if err := d.step("张伟 proves age_over 18 to platform-a.example (zero knowledge, signed OpenID4VP request)", func() (string, error) {
		r, err := d.zk(ctx, platformA, "adult", over18)
		if err != nil {
			return resultLine(r), err
		}
		pseudonymA = r.Pseudonym
		return resultLine(r), nil
	}); err != nil {
		return err
	}
	if err := d.step("张伟 proves age_over 18 to platform-b.example", func() (string, error) {
		r, err := d.zk(ctx, platformB, "adult", over18)
		if err != nil {
			return "", err
		}
		pseudonymB = r.Pseudonym
		if pseudonymA == pseudonymB {
			return "", errors.New("two platforms got the same pseudonym")
		}
		return resultLine(r) + "\npseudonyms differ across platforms: the scope is the certified client_id, so platform-a cannot link this account to platform-b's", nil
	}); err != nil {
		return err
	}
	if err := d.step("张伟 proves age_over 18 to platform-a.example again (a fresh request and nonce)", func() (string, error) {
		r, err := d.zk(ctx, platformA, "adult", over18)
		if err != nil {
			return "", err
		}
		if r.Pseudonym != pseudonymA {
			return "", errors.New("one platform got two pseudonyms")
		}
		return resultLine(r) + "\nsame pseudonym as before: one person, one account on platform-a", nil
	}); err != nil {
		return err
	}
	if err := d.step("rogue.example, certified by a registrar the wallet does not trust, asks 张伟 for age_over 18", func() (string, error) {
		rogue, err := d.newPlatform("rogue.example")
		if err != nil {
			return "", err
		}
		defer rogue.v.Close()
		_, err = d.zk(ctx, rogue, "adult", over18)
		if !errors.Is(err, holder.ErrUntrustedPlatform) {
			return "", fmt.Errorf("an unregistered platform's request was not refused as such: %v", err)
		}
		return "the wallet refuses: " + err.Error(), nil
	}); err != nil {
		return err
	}
	if err := d.step("platform-a.example asks for name and birth_date in clear, which its registration does not allow", func() (string, error) {
		tx, err := platformA.v.NewPlatformRequest(ctx, verifier.Policy{SDJWTClaims: []string{"name", "birth_date"}}, platformA.pl)
		if err != nil {
			return "", err
		}
		_, err = holder.Authorize(tx.RequestObject, d.roots, time.Now())
		if !errors.Is(err, holder.ErrNotEntitled) {
			return "", fmt.Errorf("an over-ask was not refused as such: %v", err)
		}
		return "the wallet refuses: " + err.Error(), nil
	}); err != nil {
		return err
	}
	if err := d.step("李娜 (15) is asked for age_over 18", func() (string, error) {
		_, err := d.zk(ctx, platformA, "teen", over18)
		if err == nil {
			return "", errors.New("a 15-year-old proved age_over 18")
		}
		return "the wallet refuses before proving: " + err.Error(), nil
	}); err != nil {
		return err
	}
	if err := d.step("王小明 (12) proves age_under 14 with guardian consent to kids.example", func() (string, error) {
		kids, err := d.newPlatform("kids.example")
		if err != nil {
			return "", err
		}
		defer kids.v.Close()
		r, err := d.zk(ctx, kids, "child", verifier.Policy{AgeUnder: intPtr(14), GuardianConsent: true})
		return resultLine(r), err
	}); err != nil {
		return err
	}

	if err := d.step("张伟 presents an SD-JWT disclosing only age_over_18 to shop.example (entitled, with consent, Art. 8)", func() (string, error) {
		shop, err := d.newPlatform("shop.example")
		if err != nil {
			return "", err
		}
		defer shop.v.Close()
		tx, err := shop.v.NewPlatformRequest(ctx, verifier.Policy{SDJWTClaims: []string{"age_over_18"}}, shop.pl)
		if err != nil {
			return "", err
		}
		a, err := holder.Authorize(tx.RequestObject, d.roots, time.Now())
		if err != nil {
			return "", err
		}
		pres, err := d.wallets["adult"].Present(a)
		if err != nil {
			return "", err
		}
		r, err := respond(ctx, shop, tx, pres)
		if err != nil {
			return "", err
		}
		if !r.Valid {
			return "", fmt.Errorf("SD-JWT presentation refused: %s", strings.Join(r.Reasons, "; "))
		}
		claims, _ := json.Marshal(r.Claims)
		return fmt.Sprintf("valid; disclosed claims: %s (name, birth date and 网号 stay hidden); the KB-JWT audience is %s", claims, r.ClientID), nil
	}); err != nil {
		return err
	}

	pending, err := platformA.v.NewPlatformRequest(ctx, over18, platformA.pl)
	if err != nil {
		return err
	}
	if err := d.step("issuer revokes 张伟's credential and publishes the next epoch, which carries it", func() (string, error) {
		if err := d.iss.Revoke(d.serials["adult"]); err != nil {
			return "", err
		}
		e, err := d.iss.Publish()
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("serial %d revoked; epoch %d root %s…", d.serials["adult"], e.Epoch, zkhash.FormatElement(e.Root)[:18]), nil
	}); err != nil {
		return err
	}
	if err := d.step("张伟's next proof is rejected", func() (string, error) {
		var lines []string
		w := d.wallets["adult"]
		a, err := holder.Authorize(pending.RequestObject, d.roots, time.Now())
		if err != nil {
			return "", err
		}
		pres, err := w.Prove(ctx, a, d.src, holder.ProveOptions{})
		if err != nil {
			return "", err
		}
		r, err := respond(ctx, platformA, pending, pres)
		if err != nil {
			return "", err
		}
		if r.Valid {
			return "", errors.New("a proof under the pre-revocation root was accepted")
		}
		lines = append(lines, "proof under the root from before the revocation: "+resultLine(r))
		_, err = d.zk(ctx, platformA, "adult", over18)
		if err == nil {
			return "", errors.New("the revoked credential proved under the new root")
		}
		lines = append(lines, "after refreshing its witness the wallet cannot prove at all: "+err.Error())
		return strings.Join(lines, "\n"), nil
	}); err != nil {
		return err
	}
	return nil
}

// demoKDF seals the demo's registrar and platform keys cheaply (the demo
// directory is removed at the end).
var demoKDF = &registry.KDFParams{Time: 1, MemoryKiB: 1 << 10, Threads: 1}

// registerPlatforms makes the demo's registrar, registers its platforms,
// and has every wallet pin the registrar root; rogue.example is registered
// by a second registrar nobody trusts.
func (d *demo) registerPlatforms() (string, error) {
	reg, err := registry.Init(filepath.Join(d.dir, "registrar"), jose.SuiteGM, []byte(demoPassphrase), &registry.Options{KDF: demoKDF})
	if err != nil {
		return "", err
	}
	rogueReg, err := registry.Init(filepath.Join(d.dir, "rogue-registrar"), jose.SuiteGM, []byte(demoPassphrase), &registry.Options{KDF: demoKDF})
	if err != nil {
		return "", err
	}
	d.platforms = map[string]*verifier.Platform{}
	for _, p := range []struct {
		r      *registry.Registrar
		domain string
		e      registry.Entitlements
	}{
		{reg, "platform-a.example", registry.Entitlements{Predicates: []string{registry.PredicateAgeOver}}},
		{reg, "platform-b.example", registry.Entitlements{Predicates: []string{registry.PredicateAgeOver}}},
		{reg, "kids.example", registry.Entitlements{Predicates: []string{registry.PredicateAgeUnder, registry.PredicateGuardianConsent}}},
		{reg, "shop.example", registry.Entitlements{Claims: []string{"age_over_18"}, LegalBasis: "demo: age check for alcohol sales"}},
		{rogueReg, "rogue.example", registry.Entitlements{Predicates: registry.Predicates()}},
	} {
		pl, err := p.r.Register(p.domain, p.e, 24*time.Hour)
		if err != nil {
			return "", err
		}
		status, err := p.r.StatusList()
		if err != nil {
			return "", err
		}
		d.platforms[p.domain] = &verifier.Platform{Domain: pl.Domain, Chain: pl.Chain, Key: pl.Key, Registration: pl.Registration,
			Status: status, ResponseURI: "https://" + pl.Domain + "/openid4vp/response"}
	}
	d.roots = reg.Roots()
	for _, p := range d.people() {
		if _, err := d.wallets[p.key].TrustRegistrar(d.roots.PEM()); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("registrar root %s…; access certificates name each domain (x509_san_dns), registrations list what each may ask",
		registry.Fingerprint(reg.Root())[:16]), nil
}

// demoPlatform is a registered platform's verifier.
type demoPlatform struct {
	v  *verifier.Verifier
	pl *verifier.Platform
}

func (d *demo) newPlatform(domain string) (*demoPlatform, error) {
	v, err := d.newVerifier(domain)
	if err != nil {
		return nil, err
	}
	return &demoPlatform{v: v, pl: d.platforms[domain]}, nil
}

func (d *demo) enrol(ctx context.Context, p person) (string, error) {
	w, _, err := holder.Init(filepath.Join(d.dir, "wallet-"+p.key), []byte(demoPassphrase), holder.Options{})
	if err != nil {
		return "", err
	}
	d.wallets[p.key] = w
	hreq, err := w.Request()
	if err != nil {
		return "", err
	}
	subject := p.subject
	b, err := d.iss.Issue(&subject, hreq)
	if err != nil {
		return "", err
	}
	info, err := w.Import(ctx, b, d.src)
	if err != nil {
		return "", err
	}
	d.serials[p.key] = b.Serial
	return fmt.Sprintf("网号 %s…, serial %d, level %d, %d single-use SD-JWT copies; wallet checked signatures, leaf and path\npending: the path is under the tree of epoch %d, which the issuer has not signed yet",
		b.Wanghao[:8], info.Serial, info.Level, info.CopiesLeft, b.Path.Epoch), nil
}

func (d *demo) newVerifier(scope string) (*verifier.Verifier, error) {
	// The platform pins the demo issuer as `yinzheng verifier trust
	// --allow-development-keys` would: its circuit keys are development keys.
	in, err := verifier.Inspect(context.Background(), d.src)
	if err != nil {
		return nil, err
	}
	pin, err := in.Pin(context.Background(), verifier.PinOptions{AllowDevelopmentKeys: true})
	if err != nil {
		return nil, err
	}
	return verifier.New(verifier.Options{
		Dir:                  filepath.Join(d.dir, "verifier-"+scope),
		Source:               d.src,
		Trust:                verifier.NewTrust(*pin),
		AllowDevelopmentKeys: true,
		// The demo's platforms re-read the issuer's publication at every
		// step, so a revocation shows at once; a deployment caches it for
		// the default minute, which bounds how late a revocation bites.
		CacheTTL: time.Millisecond,
	})
}

// zk has verifier v ask holder who for policy p, and verifies the answer.
// zk runs one transaction: the platform signs a request object, the
// wallet authorizes it against the pinned registrar and proves, and the
// platform verifies the vp_token against its recorded transaction.
func (d *demo) zk(ctx context.Context, p *demoPlatform, who string, policy verifier.Policy) (*verifier.Result, error) {
	tx, err := p.v.NewPlatformRequest(ctx, policy, p.pl)
	if err != nil {
		return nil, err
	}
	a, err := holder.Authorize(tx.RequestObject, d.roots, time.Now())
	if err != nil {
		return nil, err
	}
	pres, err := d.wallets[who].Prove(ctx, a, d.src, holder.ProveOptions{})
	if err != nil {
		return nil, err
	}
	r, err := respond(ctx, p, tx, pres)
	if err != nil {
		return nil, err
	}
	if !r.Valid {
		return r, fmt.Errorf("refused: %s", strings.Join(r.Reasons, "; "))
	}
	return r, nil
}

// respond posts a presentation as its vp_token to the platform's verifier.
func respond(ctx context.Context, p *demoPlatform, tx *verifier.Transaction, pres *holder.Presentation) (*verifier.Result, error) {
	tok, err := holder.VPToken(pres)
	if err != nil {
		return nil, err
	}
	return p.v.VerifyResponse(ctx, tx.ID, tok, tx.Object)
}

func resultLine(r *verifier.Result) string {
	if r == nil {
		return ""
	}
	if !r.Valid {
		return "rejected by the verifier: " + strings.Join(r.Reasons, "; ")
	}
	var preds []string
	for _, name := range slices.Sorted(maps.Keys(r.Predicates)) {
		preds = append(preds, fmt.Sprintf("%s=%v", name, r.Predicates[name]))
	}
	return fmt.Sprintf("valid: %s, pseudonym %s…", strings.Join(preds, " "), r.Pseudonym[:18])
}

func intPtr(n int) *int { return &n }

// progress prints the setup's stages and a tick every two seconds, so the
// first run's key setup does not look like a hang.
type progress struct {
	out  io.Writer
	mu   sync.Mutex
	done chan struct{}
	wg   sync.WaitGroup
}

func newProgress(out io.Writer) *progress {
	p := &progress{out: out, done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		start := time.Now()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.mu.Lock()
				fmt.Fprintf(p.out, "    … %s\n", time.Since(start).Round(time.Second))
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *progress) stage(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "    %s\n", s)
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}
