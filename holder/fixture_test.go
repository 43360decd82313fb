package holder

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/sdjwt"
)

// The tests run against a minimal issuer written here from the lower
// packages (the holder must not depend on package issuer): a revocation
// store, an SM2 key, SD-JWT issuance and the published files in
// DIR/public, read back through publication.DirSource like a real wallet.

const testIssuer = "https://issuer.test.example"

// testDepth is the production depth: the circuit keys are cached for it.
const testDepth = circuits.ProductionDepth

// testNow is the fixed clock of the tests.
var testNow = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func testClock() time.Time { return testNow }

// devKeys sets up (or loads from the shared cache) the development keys
// once per test binary.
var devKeys = sync.OnceValues(func() (string, error) {
	dir, err := bench.DefaultKeysDir(testDepth)
	if err != nil {
		return "", err
	}
	c, err := circuits.Compile(testDepth)
	if err != nil {
		return "", err
	}
	if _, err := circuits.LoadOrSetupDevelopment(dir, c, nil); err != nil {
		return "", err
	}
	return dir, nil
})

type fakeIssuer struct {
	t     testing.TB
	dir   string
	key   *jose.PrivateKey
	store *revocation.Store
	// nextIdx is the next status index: each copy has its own, as the
	// issuer's random draws give.
	nextIdx uint64
}

func newIssuer(t testing.TB) *fakeIssuer {
	t.Helper()
	dir := t.TempDir()
	key, err := jose.GenerateKey(jose.SuiteGM, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := revocation.Open(filepath.Join(dir, "accumulator"), revocation.Options{Depth: testDepth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	iss := &fakeIssuer{t: t, dir: dir, key: key, store: store}
	iss.writeMetadata(testIssuer, key.Public(), "")
	iss.publish()
	return iss
}

func (iss *fakeIssuer) public(name string) string {
	return filepath.Join(iss.dir, "public", filepath.FromSlash(name))
}

func (iss *fakeIssuer) write(name string, data []byte) {
	iss.t.Helper()
	p := iss.public(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		iss.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		iss.t.Fatal(err)
	}
}

// writeMetadata writes issuer.json; circuitID "" means the cached keys'.
func (iss *fakeIssuer) writeMetadata(issuer string, key *jose.PublicKey, circuitID string) {
	iss.t.Helper()
	if circuitID == "" {
		if m, err := readCachedManifest(); err == nil {
			circuitID = m.CircuitID
		} else {
			circuitID = "zUnknown"
		}
	}
	schemaID, err := schemas.SchemaID()
	if err != nil {
		iss.t.Fatal(err)
	}
	m := publication.Metadata{
		Version: 1, Issuer: issuer, Suite: key.Suite(), JWK: key, KeyID: key.KeyID(), Depth: testDepth,
		CircuitID: circuitID, SchemaID: schemaID, VCT: schemas.VCT, StatusListURI: issuer + "/statuslist.jwt",
	}
	data, err := json.Marshal(m)
	if err != nil {
		iss.t.Fatal(err)
	}
	iss.write(publication.IssuerName, data)
}

func readCachedManifest() (circuits.Manifest, error) {
	dir, err := bench.DefaultKeysDir(testDepth)
	if err != nil {
		return circuits.Manifest{}, err
	}
	return circuits.ReadManifest(dir)
}

// publishCircuit copies the cached development keys into the publication.
func (iss *fakeIssuer) publishCircuit() {
	iss.t.Helper()
	dir, err := devKeys()
	if err != nil {
		iss.t.Fatal(err)
	}
	for _, f := range []string{"manifest.json", "verifying.key", "proving.key"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			iss.t.Fatal(err)
		}
		iss.write("circuit/"+f, data)
	}
	iss.writeMetadata(testIssuer, iss.key.Public(), "")
}

// publish freezes an epoch and writes its statement and delta.
func (iss *fakeIssuer) publish() *revocation.Epoch {
	iss.t.Helper()
	e, err := iss.store.Publish(iss.key, testIssuer, testNow)
	if err != nil {
		iss.t.Fatal(err)
	}
	d, err := iss.store.Delta(e.Epoch)
	if err != nil {
		iss.t.Fatal(err)
	}
	raw, err := d.MarshalBinary()
	if err != nil {
		iss.t.Fatal(err)
	}
	iss.write(publication.DeltaName(e.Epoch), raw)
	iss.write(publication.RootName(e.Epoch), []byte(e.Statement))
	iss.write(publication.LatestRootName, []byte(e.Statement))
	return e
}

func (iss *fakeIssuer) source() publication.Source {
	return publication.DirSource(iss.dir)
}

// bucketSource serves the issuer's files and computes buckets, as the HTTP
// issuer service does.
type bucketSource struct {
	iss     *fakeIssuer
	buckets int
	names   []string        // the bucket names asked for
	missing map[string]bool // names to pretend are not published
}

func (b *bucketSource) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	if b.missing[name] {
		return nil, fmt.Errorf("%w: %s", publication.ErrNotFound, name)
	}
	var index uint64
	var k int
	if _, err := fmt.Sscanf(name, "buckets/%d/%d", &k, &index); err == nil {
		b.buckets++
		b.names = append(b.names, name)
		bk, err := b.iss.store.Bucket(index<<(2*k), k)
		if err != nil {
			return nil, err
		}
		return bk.MarshalBinary()
	}
	return b.iss.source().Get(ctx, name, limit)
}

type subject struct {
	name    string
	birth   string
	level   uint8
	consent bool
	ack     bool
}

var (
	adult = subject{name: "张三", birth: "1990-05-17", level: 3}
	teen  = subject{name: "李四", birth: "2011-03-02", level: 2, ack: true}
	child = subject{name: "王五", birth: "2014-08-30", level: 2, consent: true}
)

// issueOpts alter one aspect of issuance, to build bundles that break
// exactly one check.
type issueOpts struct {
	sdKey       *jose.PrivateKey // signs the SD-JWTs instead of the issuer key
	sdName      string           // name claim in the SD-JWTs
	sdIssuer    string           // iss of the SD-JWTs
	noStatusIdx bool             // a status entry without idx
	statusIdx   *uint64          // one status index for every copy (copies that would link)
	cnfKeys     []*jose.PublicKey
	commitment  *fr.Element // holder commitment instead of the request's
	// pending issues as a batching issuer does: no epoch is published, the
	// bundle's path is under the current tree of the next epoch.
	pending bool
}

func (iss *fakeIssuer) attributes(s subject) *schemas.Attributes {
	iss.t.Helper()
	birth, err := schemas.ParseDate(s.birth)
	if err != nil {
		iss.t.Fatal(err)
	}
	a := &schemas.Attributes{
		Wanghao: "wh" + randomText(iss.t, 10), Name: s.name, BirthDate: birth, DocType: schemas.ResidentID,
		Region: "110101", Level: s.level, GuardianConsent: s.consent, GuardianAcknowledgement: s.ack,
		Expiry: schemas.Date{Year: 2031, Month: 11, Day: 23},
	}
	if _, err := rand.Read(a.Salt[:]); err != nil {
		iss.t.Fatal(err)
	}
	return a
}

func randomText(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// issue appends the credential's leaf, publishes an epoch (unless
// o.pending) and returns the bundle.
func (iss *fakeIssuer) issue(s subject, req *HolderRequest, o issueOpts) *Bundle {
	iss.t.Helper()
	t := iss.t
	a := iss.attributes(s)
	packed, identity, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	commitment, err := zkhash.ParseElement(req.HolderCommitment)
	if err != nil {
		t.Fatal(err)
	}
	if o.commitment != nil {
		commitment = *o.commitment
	}
	leaf := zkhash.Leaf(zkhash.LeafTag(circuits.SchemaName), packed, commitment, identity)
	serial, err := iss.store.Append(leaf)
	if err != nil {
		t.Fatal(err)
	}
	var e *revocation.Epoch
	if o.pending {
		history, err := iss.store.RootHistory()
		if err != nil {
			t.Fatal(err)
		}
		e = &revocation.Epoch{Epoch: history[len(history)-1].Epoch + 1}
	} else {
		e = iss.publish()
	}
	path, err := iss.store.Path(serial)
	if err != nil {
		t.Fatal(err)
	}
	b := &Bundle{
		Version: 1, Issuer: testIssuer, Serial: serial, Wanghao: a.Wanghao,
		ZK: BundleZK{
			BirthDate: a.BirthDate.String(), Expiry: a.Expiry.String(), Level: int(a.Level),
			GuardianConsent: a.GuardianConsent, GuardianAcknowledgement: a.GuardianAcknowledgement,
			DocType: a.DocType.String(), Name: a.Name, Region: a.Region,
			Salt:       base64.RawURLEncoding.EncodeToString(a.Salt[:]),
			Attributes: zkhash.FormatElement(packed), Identity: zkhash.FormatElement(identity), Leaf: zkhash.FormatElement(leaf),
		},
		Path:          BundlePath{Serial: serial, Epoch: e.Epoch, Root: zkhash.FormatElement(path.Root)},
		RootStatement: e.Statement,
		Pending:       o.pending,
	}
	for _, s := range path.Siblings {
		b.Path.Siblings = append(b.Path.Siblings, zkhash.FormatElement(s))
	}
	cnf := o.cnfKeys
	if cnf == nil {
		for _, raw := range req.SDJWTKeys {
			k, err := jose.ParsePublicJWK(raw)
			if err != nil {
				t.Fatal(err)
			}
			cnf = append(cnf, k)
		}
	}
	for _, k := range cnf {
		b.SDJWT = append(b.SDJWT, iss.sdjwt(a, serial, k, o))
	}
	return b
}

func (iss *fakeIssuer) sdjwt(a *schemas.Attributes, serial uint64, holderKey *jose.PublicKey, o issueOpts) string {
	iss.t.Helper()
	claims, err := schemas.ClaimsFromAttributes(a, schemas.DateOf(testNow))
	if err != nil {
		iss.t.Fatal(err)
	}
	delete(claims, "vct")
	if o.sdName != "" {
		claims[schemas.ClaimName] = o.sdName
	}
	specs, err := schemas.ClaimSpecs()
	if err != nil {
		iss.t.Fatal(err)
	}
	var disclosable []sdjwt.ClaimPath
	for _, s := range specs {
		if _, ok := claims[s.Name]; ok && s.Selective {
			disclosable = append(disclosable, sdjwt.ClaimPath{s.Name})
		}
	}
	idx := 1000 + iss.nextIdx
	iss.nextIdx++
	if o.statusIdx != nil {
		idx = *o.statusIdx
	}
	key, issuer := iss.key, testIssuer
	if o.sdKey != nil {
		key = o.sdKey
	}
	if o.sdIssuer != "" {
		issuer = o.sdIssuer
	}
	entry := map[string]any{"idx": idx, "uri": testIssuer + "/statuslist.jwt"}
	if o.noStatusIdx {
		delete(entry, "idx")
	}
	sd, err := sdjwt.Issue(key, claims, sdjwt.IssueOptions{
		Disclosable: disclosable, Decoys: 2, HolderKey: holderKey, Issuer: issuer, VCT: schemas.VCT,
		Status:   map[string]any{"status_list": entry},
		IssuedAt: testNow, Expiry: testNow.AddDate(1, 0, 0),
	})
	if err != nil {
		iss.t.Fatal(err)
	}
	return sd.Compact()
}

// testPassphrase is what every test wallet is sealed under.
var testPassphrase = []byte("correct horse battery staple")

func newWallet(t testing.TB) *Wallet {
	t.Helper()
	w, _, err := Init(filepath.Join(t.TempDir(), "wallet"), testPassphrase, Options{Now: testClock})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func mustRequest(t testing.TB, w *Wallet) *HolderRequest {
	t.Helper()
	r, err := w.Request()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// enrol issues a credential for s to w and imports it.
func enrol(t testing.TB, iss *fakeIssuer, w *Wallet, s subject) *Bundle {
	t.Helper()
	b := iss.issue(s, mustRequest(t, w), issueOpts{})
	if _, err := w.Import(context.Background(), b, iss.source()); err != nil {
		t.Fatalf("import: %v", err)
	}
	return b
}

// zkRequestFor builds a verifier request as the verifier would.
func zkRequestFor(t testing.TB, scope string, ageOver *int, epochs ...uint64) *Request {
	t.Helper()
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	today := schemas.DateOf(testNow)
	r := &Request{
		Version: 1, ID: "req-" + randomText(t, 8), Nonce: base64.RawURLEncoding.EncodeToString(nonce),
		Scope: scope, Issuer: testIssuer, Epochs: epochs, Today: today.String(),
		Flags: []string{}, Audience: scope, ExpiresAt: testNow.Add(5 * time.Minute).Format(time.RFC3339),
	}
	if m, err := readCachedManifest(); err == nil {
		r.CircuitID = m.CircuitID
	}
	if ageOver != nil {
		r.Predicates.AgeOver = ageOver
		_, before, err := schemas.AgeWindow(today, ageOver, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := schemas.DateFromCode(before)
		if err != nil {
			t.Fatal(err)
		}
		s := d.String()
		r.BornBefore = &s
	}
	return r
}

func intp(n int) *int { return &n }

// wantErr fails unless err is non-nil and mentions every fragment.
func wantErr(t testing.TB, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want an error mentioning %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("error %q does not mention %q", err, f)
		}
	}
}

func wantIs(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

func zkFormat(e fr.Element) string { return zkhash.FormatElement(e) }

// sdRequestFor builds an SD-JWT request as the verifier would.
func sdRequestFor(t testing.TB, scope string, claims ...string) *Request {
	t.Helper()
	r := zkRequestFor(t, scope, nil, 1)
	r.SDJWT = &SDJWTRequest{Claims: claims}
	return r
}

// frElement abbreviates the field element type in benchmarks.
type frElement = fr.Element
