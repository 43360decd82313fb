// Package httpapi is the issuer's HTTP service: issuance over OpenID4VCI 1.0
// (package openid4vci: credential issuer and authorization server metadata,
// pre-authorized credential offers with a tx_code, the token, nonce and
// credential endpoints), the operator's admin API, and the public, cacheable
// files every holder and verifier reads (issuer.json, root statements,
// deltas, buckets, the status list, the circuit keys).
//
// The service holds no issuance logic of its own: it calls an [Issuer], the
// issuer library opened on an issuer directory, and serves that directory's
// public/ files under the names of publication, so that
// publication.HTTPSource works against it exactly as publication.DirSource
// works against the directory.
//
// Enrolment: the operator posts a subject (the legal-ID record) to POST
// /admin/offers with the admin token; the subject is validated and the
// answer is a credential offer by reference (credential_offer_uri, and the
// openid-credential-offer:// link for a QR code) with a pre-authorized code
// bound to that subject, and the tx_code the operator hands the person out of
// band. Codes, tokens and nonces are random 256-bit values, single use, short
// lived and kept only in memory, as SHA-256 digests; the subject waits in
// memory until issuance and is never logged.
//
// The admin API (POST /admin/…, bearer admin token compared in constant
// time) also issues directly, revokes in batches, deletes and publishes, so
// that the operator's commands reach the running service, which holds the
// issuer directory.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
	"github.com/yinzheng-id/yinzheng/openid4vci"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// Issuer is what the service needs from the issuer library.
type Issuer interface {
	// CheckSubject validates an enrolment record (the subject JSON of
	// `yinzheng issuer issue`) without issuing anything.
	CheckSubject(subject []byte) error
	// Issue enrols subject for the holder that sent holderRequest (the
	// HolderRequest JSON) and returns the bundle JSON.
	Issue(ctx context.Context, subject, holderRequest []byte) ([]byte, error)
	// Bucket returns the binary bucket (revocation.Bucket.MarshalBinary)
	// number index of k levels (4^k leaves; revocation.BucketIndex). A
	// request names the bucket, never a serial.
	Bucket(index uint64, k int) ([]byte, error)
	// Revoke revokes the serials together (one status list signature).
	Revoke(serials []uint64) error
	// Delete carries out a deletion request for the person with this 网号
	// and returns what it did (issuer.DeleteResult JSON).
	Delete(wanghao string) ([]byte, error)
	// Publish publishes an epoch and returns {"epoch","root","leaf_count"}.
	Publish() ([]byte, error)
}

// Errors that an [Issuer] wraps when the caller, not the issuer, is at
// fault; the service answers them with 400 (ErrNotFound: 404) and the
// error's message. Any other error is an internal one: logged, answered
// with 500.
var (
	ErrInvalidInput = errors.New("invalid input")
	ErrNotFound     = errors.New("not found")
)

// Defaults for [Options] fields left zero.
const (
	DefaultOfferTTL          = 10 * time.Minute
	DefaultTokenTTL          = 5 * time.Minute
	DefaultNonceTTL          = 5 * time.Minute
	DefaultMaxOffers         = 10000
	DefaultMaxNonces         = 100000
	DefaultMaxTxCodeAttempts = 5
	// DefaultBatchSize is the batch_size advertised: the most SD-JWT copies
	// (proofs) one credential request may ask for. Wallets ask for 8.
	DefaultBatchSize = 8
	// TxCodeLength is the number of digits of a tx_code.
	TxCodeLength = 6
)

// Options configures the service.
type Options struct {
	// Dir is the issuer directory; its public/ files are served.
	Dir string
	// PublicURL is the base URL the service is reached at, for the endpoint
	// URLs in the metadata. Empty: the issuer identifier from issuer.json.
	PublicURL string
	// AdminToken guards the admin API, POST /admin/… (compared in constant
	// time). Empty disables it.
	AdminToken []byte
	OfferTTL   time.Duration
	TokenTTL   time.Duration
	NonceTTL   time.Duration
	// MaxOffers bounds the offers and tokens waiting in memory; MaxNonces
	// the live c_nonces.
	MaxOffers int
	MaxNonces int
	// MaxTxCodeAttempts is how many wrong tx_codes burn an offer.
	MaxTxCodeAttempts int
	// BatchSize is the batch_size advertised and enforced.
	BatchSize int
	// Now returns the current time (tests); nil is time.Now.
	Now func() time.Time
}

// Service is the issuer's HTTP service.
type Service struct {
	iss  Issuer
	opts Options
	meta *publication.Metadata
	srv  *httpserv.Server

	mu     sync.Mutex
	offers map[[32]byte]*offer    // by SHA-256 of the pre-authorized code
	docs   map[[32]byte]*offerDoc // by SHA-256 of the offer URI's id
	tokens map[[32]byte]*grant    // by SHA-256 of the access token
	nonces map[[32]byte]time.Time // by SHA-256 of the c_nonce: its expiry
}

// New registers the service's routes on srv. It reads DIR/public/issuer.json
// once: the issuer's identity and key do not change while it runs.
func New(srv *httpserv.Server, iss Issuer, opts Options) (*Service, error) {
	if iss == nil {
		return nil, errors.New("issuer service: no issuer")
	}
	data, err := publication.DirSource(opts.Dir).Get(context.Background(), publication.IssuerName, publication.MaxMetadataSize)
	if err != nil {
		return nil, fmt.Errorf("issuer service: %w (is %s an initialised issuer directory?)", err, opts.Dir)
	}
	meta, err := publication.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("issuer service: %w", err)
	}
	if opts.PublicURL == "" {
		opts.PublicURL = meta.Issuer
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if err := publication.CheckURL(opts.PublicURL); err != nil {
		return nil, fmt.Errorf("issuer service: public URL: %w", err)
	}
	defaults := []struct {
		d *time.Duration
		v time.Duration
	}{{&opts.OfferTTL, DefaultOfferTTL}, {&opts.TokenTTL, DefaultTokenTTL}, {&opts.NonceTTL, DefaultNonceTTL}}
	for _, d := range defaults {
		if *d.d <= 0 {
			*d.d = d.v
		}
	}
	for _, n := range []struct {
		p *int
		v int
	}{{&opts.MaxOffers, DefaultMaxOffers}, {&opts.MaxNonces, DefaultMaxNonces},
		{&opts.MaxTxCodeAttempts, DefaultMaxTxCodeAttempts}, {&opts.BatchSize, DefaultBatchSize}} {
		if *n.p <= 0 {
			*n.p = n.v
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{iss: iss, opts: opts, meta: meta, srv: srv,
		offers: make(map[[32]byte]*offer), docs: make(map[[32]byte]*offerDoc),
		tokens: make(map[[32]byte]*grant), nonces: make(map[[32]byte]time.Time)}

	srv.HandleFunc("GET "+openid4vci.WellKnownCredentialIssuer, s.credentialIssuerMetadata)
	srv.HandleFunc("GET "+openid4vci.WellKnownCredentialIssuer+"/{path...}", s.credentialIssuerMetadata)
	srv.HandleFunc("GET "+openid4vci.WellKnownAuthorizationServer, s.authorizationServerMetadata)
	srv.HandleFunc("GET "+openid4vci.WellKnownAuthorizationServer+"/{path...}", s.authorizationServerMetadata)
	srv.HandleFunc("GET /.well-known/jwt-vc-issuer", s.jwtVCIssuerMetadata)
	srv.HandleFunc("GET /offers/{id}", s.offerByReference)
	srv.HandleFunc("POST /token", s.token)
	srv.HandleFunc("POST /nonce", s.nonce)
	srv.HandleFunc("POST /credential", s.credential)
	// The admin routes check the admin token before any work.
	srv.HandleAuthenticated("POST /admin/offers", s.admin(s.adminOffer))
	srv.HandleAuthenticated("POST /admin/issue", s.admin(s.adminIssue))
	srv.HandleAuthenticated("POST /admin/revoke", s.admin(s.adminRevoke))
	srv.HandleAuthenticated("POST /admin/delete", s.admin(s.adminDelete))
	srv.HandleAuthenticated("POST /admin/publish", s.admin(s.adminPublish))

	srv.HandleFunc("GET /issuer.json", s.file(publication.IssuerName, cacheMetadata))
	srv.HandleFunc("GET /statuslist.jwt", s.file(publication.StatusListName, cacheStatus))
	srv.HandleFunc("GET /roots/{name}", s.root)
	srv.HandleFunc("GET /deltas/{name}", s.delta)
	srv.HandleFunc("GET /deltas/span/{level}/{name}", s.span)
	srv.HandleFunc("GET /buckets/{k}/{index}", s.bucket)
	srv.HandleFunc("GET /circuit/{name}", s.circuit)
	return s, nil
}

// Cache-Control values. Epoch files never change once published; the latest
// root and the status list change with every publication, so caches keep
// them briefly; the circuit keys change only with a new circuit id.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheLatest    = "public, max-age=30"
	cacheStatus    = "public, max-age=60"
	cacheBucket    = "public, max-age=30"
	cacheMetadata  = "public, max-age=300"
	cacheCircuit   = "public, max-age=86400"
)

// file serves DIR/public/<name>. The issuer rewrites public files by
// renaming, so an open file stays one consistent version.
func (s *Service) file(name, cache string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.serveFile(w, r, name, cache) }
}

func (s *Service) serveFile(w http.ResponseWriter, r *http.Request, name, cache string) {
	if err := publication.CheckName(name); err != nil {
		httpserv.WriteError(w, http.StatusNotFound, "no such file")
		return
	}
	f, err := os.Open(filepath.Join(s.opts.Dir, "public", filepath.FromSlash(name)))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			httpserv.WriteError(w, http.StatusNotFound, fmt.Sprintf("%s is not published", name))
			return
		}
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		httpserv.WriteError(w, http.StatusNotFound, fmt.Sprintf("%s is not published", name))
		return
	}
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("Content-Type", contentType(name))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	case strings.HasSuffix(name, ".jws"):
		return "application/jose"
	case name == publication.StatusListName:
		return "application/statuslist+jwt"
	default:
		return "application/octet-stream"
	}
}

// epochFile parses "<epoch><ext>" with a canonical decimal epoch.
func epochFile(name, ext string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, ext)
	if !ok {
		return 0, false
	}
	return parseCanonical(digits)
}

// parseCanonical accepts only the decimal form a publisher writes (no sign,
// no leading zeros), so one file has one URL and caches are not split.
func parseCanonical(s string) (uint64, bool) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

func (s *Service) root(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "latest.jws" {
		s.serveFile(w, r, publication.LatestRootName, cacheLatest)
		return
	}
	epoch, ok := epochFile(name, ".jws")
	if !ok {
		httpserv.WriteError(w, http.StatusNotFound, "root statements are /roots/latest.jws or /roots/<epoch>.jws")
		return
	}
	s.serveFile(w, r, publication.RootName(epoch), cacheImmutable)
}

func (s *Service) delta(w http.ResponseWriter, r *http.Request) {
	epoch, ok := epochFile(r.PathValue("name"), ".json")
	if !ok {
		httpserv.WriteError(w, http.StatusNotFound, "deltas are /deltas/<epoch>.json")
		return
	}
	s.serveFile(w, r, publication.DeltaName(epoch), cacheImmutable)
}

func (s *Service) span(w http.ResponseWriter, r *http.Request) {
	level, ok := parseCanonical(r.PathValue("level"))
	index, ok2 := epochFile(r.PathValue("name"), ".json")
	if !ok || !ok2 || !slices.Contains(revocation.SpanLevels, int(level)) {
		httpserv.WriteError(w, http.StatusNotFound, "span deltas are /deltas/span/<level>/<index>.json")
		return
	}
	s.serveFile(w, r, publication.SpanName(int(level), index), cacheImmutable)
}

func (s *Service) circuit(w http.ResponseWriter, r *http.Request) {
	name := "circuit/" + r.PathValue("name")
	switch name {
	case publication.ManifestName, publication.VerifyingKeyName, publication.ProvingKeyName, publication.TranscriptName:
		s.serveFile(w, r, name, cacheCircuit)
	default:
		httpserv.WriteError(w, http.StatusNotFound, "circuit files are manifest.json, verifying.key, proving.key and (for ceremony keys) transcript.bin")
	}
}

func (s *Service) bucket(w http.ResponseWriter, r *http.Request) {
	index, ok := parseCanonical(r.PathValue("index"))
	if !ok {
		httpserv.WriteError(w, http.StatusBadRequest, "bucket index must be a decimal number")
		return
	}
	k64, ok := parseCanonical(r.PathValue("k"))
	if !ok || k64 > revocation.MaxBucketLevels {
		httpserv.WriteError(w, http.StatusBadRequest, fmt.Sprintf("bucket levels k must be a number from 0 to %d", revocation.MaxBucketLevels))
		return
	}
	data, err := s.iss.Bucket(index, int(k64))
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Cache-Control", cacheBucket)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(data)
}

// fail answers an error from the issuer library.
func (s *Service) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrInvalidInput) {
		httpserv.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if errors.Is(err, ErrNotFound) {
		httpserv.WriteError(w, http.StatusNotFound, err.Error())
		return
	}
	httpserv.Fail(w, s.srv.Logger(), err)
}
