package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/internal/strictjson"
	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// TrustFileName is the trust file in a verifier's directory.
const TrustFileName = "trust.json"

// TrustVersion is the version of the trust file format.
const TrustVersion = 1

// maxTrustSize bounds the trust file.
const maxTrustSize = 1 << 20

var (
	// ErrNotPinned means the verifier has no trust file, or the file pins
	// no issuer: the operator must pin one with `yinzheng verifier trust`.
	ErrNotPinned = errors.New("verifier: no issuer pinned (run `yinzheng verifier trust`)")
	// ErrTrustChanged means the issuer's publication names an issuer, key
	// or circuit other than the pinned ones. Nothing is replaced silently:
	// the operator must inspect the change and pin again.
	ErrTrustChanged = errors.New("verifier: the issuer's publication differs from the pinned trust")
	// ErrTrustFile means the trust file is malformed.
	ErrTrustFile = errors.New("verifier: malformed trust file")
)

// Trust is what a verifier trusts: the issuers it accepts, each with its
// keys and circuits. It is kept in the verifier's directory as
// TrustFileName, written by [Trust.Write] and read by [ReadTrust].
type Trust struct {
	// Version is TrustVersion.
	Version int `json:"version"`
	// Issuers are the pinned issuers, at most one per issuer id.
	Issuers []TrustedIssuer `json:"issuers"`
}

// TrustedIssuer pins one issuer.
type TrustedIssuer struct {
	// Issuer is the issuer identifier (issuer.json's "issuer").
	Issuer string `json:"issuer"`
	// Keys are the issuer public keys accepted in issuer.json (more than
	// one during a key rotation).
	Keys []*jose.PublicKey `json:"keys"`
	// CircuitIDs are the accepted circuit ids: multibase SM3 digests of
	// verifying keys, recomputed from the published key at every load.
	CircuitIDs []string `json:"circuit_ids"`
	// AllowDevelopmentKeys records that the operator pinned a development
	// circuit knowingly. A development circuit (recognised by its id, not
	// by the manifest's label) is refused unless this is set and the
	// verifier's Options.AllowDevelopmentKeys too.
	AllowDevelopmentKeys bool `json:"allow_development_keys,omitempty"`
	// CircuitBasis says, for the operator, why the circuit was pinned
	// (development keys allowed, ceremony transcript verified, circuit id
	// given out of band). It is a record, not a check.
	CircuitBasis string `json:"circuit_basis,omitempty"`
}

// NewTrust returns a trust pinning issuers.
func NewTrust(issuers ...TrustedIssuer) *Trust {
	return &Trust{Version: TrustVersion, Issuers: issuers}
}

// ReadTrust reads and checks dir's trust file. A missing file is an error
// wrapping ErrNotPinned.
func ReadTrust(dir string) (*Trust, error) {
	path := filepath.Join(dir, TrustFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNotPinned, path)
	}
	if err != nil {
		return nil, fmt.Errorf("verifier: trust file: %w", err)
	}
	t, err := ParseTrust(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTrust parses a trust file strictly and checks it.
func ParseTrust(data []byte) (*Trust, error) {
	var t Trust
	if err := strictjson.Unmarshal(data, maxTrustSize, &t); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTrustFile, err)
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return &t, nil
}

func (t *Trust) check() error {
	if t.Version != TrustVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrTrustFile, t.Version, TrustVersion)
	}
	seen := map[string]bool{}
	for k, ti := range t.Issuers {
		switch {
		case ti.Issuer == "":
			return fmt.Errorf("%w: issuer %d has no issuer id", ErrTrustFile, k)
		case seen[ti.Issuer]:
			return fmt.Errorf("%w: issuer %q pinned twice", ErrTrustFile, ti.Issuer)
		case len(ti.Keys) == 0:
			return fmt.Errorf("%w: issuer %q has no key", ErrTrustFile, ti.Issuer)
		case len(ti.CircuitIDs) == 0:
			return fmt.Errorf("%w: issuer %q has no circuit id", ErrTrustFile, ti.Issuer)
		}
		seen[ti.Issuer] = true
		for _, key := range ti.Keys {
			if key == nil {
				return fmt.Errorf("%w: issuer %q has a null key", ErrTrustFile, ti.Issuer)
			}
		}
		for _, id := range ti.CircuitIDs {
			if id == "" {
				return fmt.Errorf("%w: issuer %q has an empty circuit id", ErrTrustFile, ti.Issuer)
			}
		}
	}
	return nil
}

// Write writes t as dir's trust file, atomically: a complete file is
// synced under a temporary name and renamed over the old one, so a crash
// leaves either the old trust or the new, never a mix.
func (t *Trust) Write(dir string) error {
	if err := t.check(); err != nil {
		return err
	}
	data, err := jsonIndent(t)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("verifier: trust file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, TrustFileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("verifier: trust file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("verifier: trust file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("verifier: trust file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("verifier: trust file: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, TrustFileName)); err != nil {
		return fmt.Errorf("verifier: trust file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable where the platform allows it
		d.Close()
	}
	return nil
}

func (t *Trust) clone() *Trust {
	c := &Trust{Version: t.Version, Issuers: make([]TrustedIssuer, len(t.Issuers))}
	for k, ti := range t.Issuers {
		ti.Keys = slices.Clone(ti.Keys)
		ti.CircuitIDs = slices.Clone(ti.CircuitIDs)
		c.Issuers[k] = ti
	}
	return c
}

// Lookup returns the pin of issuer, or nil.
func (t *Trust) Lookup(issuer string) *TrustedIssuer {
	for k := range t.Issuers {
		if t.Issuers[k].Issuer == issuer {
			return &t.Issuers[k]
		}
	}
	return nil
}

// Set pins ti, replacing any pin of the same issuer id.
func (t *Trust) Set(ti TrustedIssuer) {
	if t.Version == 0 {
		t.Version = TrustVersion
	}
	if old := t.Lookup(ti.Issuer); old != nil {
		*old = ti
		return
	}
	t.Issuers = append(t.Issuers, ti)
}

// Check compares a publication with the pins: nil when its issuer, key and
// circuit are pinned; an error wrapping ErrNotPinned when its issuer is
// not (and nothing is); an error wrapping ErrTrustChanged naming each
// difference otherwise. Whether a development circuit may be used is
// decided separately (it also needs Options.AllowDevelopmentKeys).
func (t *Trust) Check(p *Inspection) error {
	ti := t.Lookup(p.Issuer)
	if ti == nil {
		if len(t.Issuers) == 0 {
			return ErrNotPinned
		}
		var pinned []string
		for _, i := range t.Issuers {
			pinned = append(pinned, i.Issuer)
		}
		return fmt.Errorf("%w: the publication is issuer %q, pinned: %s", ErrTrustChanged, p.Issuer, strings.Join(pinned, ", "))
	}
	var changes []string
	if !slices.ContainsFunc(ti.Keys, p.Key.Equal) {
		changes = append(changes, fmt.Sprintf("issuer key changed: pinned kid %s, published kid %s", ti.keyIDs(), p.KeyID))
	}
	if !slices.Contains(ti.CircuitIDs, p.CircuitID) {
		changes = append(changes, fmt.Sprintf("circuit changed: pinned %s, published %s (setup %q, depth %d)",
			strings.Join(ti.CircuitIDs, ", "), p.CircuitID, p.Setup, p.Depth))
	}
	if len(changes) > 0 {
		return fmt.Errorf("%w: %s: %s; inspect the publication and pin it again with `yinzheng verifier trust`",
			ErrTrustChanged, p.Issuer, strings.Join(changes, "; "))
	}
	return nil
}

func (ti *TrustedIssuer) keyIDs() string {
	ids := make([]string, len(ti.Keys))
	for k, key := range ti.Keys {
		ids[k] = key.KeyID()
	}
	return strings.Join(ids, ", ")
}

// Inspection is what an issuer's publication says, checked for coherence
// (issuer.json against the manifest, the circuit id recomputed from the
// verifying key) but not yet trusted: it is what pinning would pin.
type Inspection struct {
	// Issuer is the issuer identifier.
	Issuer string
	// Key is the issuer's public key and KeyID its SM3 JWK thumbprint.
	Key   *jose.PublicKey
	KeyID string
	// CircuitID is the SM3 digest of the published verifying key.
	CircuitID string
	// Setup is the manifest's setup label, as published (not trusted).
	Setup string
	// Depth is the accumulator depth.
	Depth int
	// DevelopmentKeys reports that the circuit is the development setup's,
	// recognised by its id whatever the label says.
	DevelopmentKeys bool
	// Transcript reports that the publication carries a ceremony
	// transcript (publication.TranscriptName).
	Transcript bool

	meta *publication.Metadata
	keys *circuits.Keys
	src  publication.Source
}

// Inspect reads an issuer's publication and returns what pinning it would
// pin, with its fingerprints. It trusts nothing: the result is for an
// operator to compare with what the issuer announced out of band, and for
// [Inspection.Pin].
func Inspect(ctx context.Context, src publication.Source) (*Inspection, error) {
	p, err := readPublication(ctx, src)
	if err != nil {
		return nil, err
	}
	_, err = src.Get(ctx, publication.TranscriptName, 0)
	switch {
	case errors.Is(err, publication.ErrTooLarge):
		// Present: a zero limit only asks whether the file exists.
		p.Transcript = true
	case errors.Is(err, publication.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("verifier: ceremony transcript: %w", err)
	default:
		p.Transcript = true // an empty file, which Pin will refuse
	}
	return p, nil
}

// readPublication reads issuer.json, the manifest and the verifying key and
// checks that they describe one issuer and one circuit this verifier
// knows. It does not consult the pins.
func readPublication(ctx context.Context, src publication.Source) (*Inspection, error) {
	data, err := src.Get(ctx, publication.IssuerName, publication.MaxMetadataSize)
	if err != nil {
		return nil, fmt.Errorf("verifier: issuer metadata: %w", err)
	}
	meta, err := publication.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIssuer, err)
	}
	schemaID, err := schemas.SchemaID()
	if err != nil {
		return nil, err
	}
	if meta.SchemaID != schemaID || meta.VCT != schemas.VCT {
		return nil, fmt.Errorf("%w: issuer.json names schema %s (%s), this verifier knows %s (%s)",
			ErrIssuer, meta.SchemaID, meta.VCT, schemaID, schemas.VCT)
	}
	data, err = src.Get(ctx, publication.ManifestName, publication.MaxMetadataSize)
	if err != nil {
		return nil, fmt.Errorf("verifier: circuit manifest: %w", err)
	}
	m, err := circuits.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%w: circuit manifest: %v", ErrIssuer, err)
	}
	switch {
	case m.CircuitID != meta.CircuitID:
		return nil, fmt.Errorf("%w: the manifest's circuit id %s is not issuer.json's %s", ErrIssuer, m.CircuitID, meta.CircuitID)
	case m.Depth != meta.Depth:
		return nil, fmt.Errorf("%w: the manifest's depth %d is not issuer.json's %d", ErrIssuer, m.Depth, meta.Depth)
	}
	vkBytes, err := src.Get(ctx, publication.VerifyingKeyName, publication.MaxVerifyingKeySize)
	if err != nil {
		return nil, fmt.Errorf("verifier: verifying key: %w", err)
	}
	// LoadVerifying recomputes the circuit id from the key's bytes: from
	// here on the id is a fact about the key, not a claim of the manifest.
	keys, err := circuits.LoadVerifying(m, vkBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIssuer, err)
	}
	return &Inspection{
		Issuer: meta.Issuer, Key: meta.JWK, KeyID: meta.KeyID, CircuitID: m.CircuitID, Setup: m.Setup,
		Depth: m.Depth, DevelopmentKeys: developmentCircuit(m),
		meta: meta, keys: keys, src: src,
	}, nil
}

// PinOptions say on what grounds [Inspection.Pin] may pin a circuit.
type PinOptions struct {
	// AllowDevelopmentKeys pins a development circuit (anyone can forge
	// its proofs: tests and demos only). Without it one is refused.
	AllowDevelopmentKeys bool
	// CircuitID is the circuit id the operator expects, learnt out of band
	// (from the issuer's announcement, say). When set, the published
	// circuit must have this id.
	CircuitID string
	// Progress, if set, is told what transcript verification is doing.
	Progress func(string)
}

// Pin decides whether the inspected circuit can be pinned and returns the
// pin. A development circuit needs opts.AllowDevelopmentKeys. Any other
// circuit needs opts.CircuitID equal to its id, or a ceremony transcript in
// the publication that verifies and yields this circuit id; without either
// it is refused with an error wrapping ErrUntrustedKeys that names them.
func (p *Inspection) Pin(ctx context.Context, opts PinOptions) (*TrustedIssuer, error) {
	ti := &TrustedIssuer{Issuer: p.Issuer, Keys: []*jose.PublicKey{p.Key}, CircuitIDs: []string{p.CircuitID}}
	if err := checkSetup(p.keys.Manifest, opts.AllowDevelopmentKeys); err != nil {
		return nil, err
	}
	switch {
	case opts.CircuitID != "" && opts.CircuitID != p.CircuitID:
		return nil, fmt.Errorf("%w: the issuer publishes circuit %s, the expected one is %s", ErrUntrustedKeys, p.CircuitID, opts.CircuitID)
	case p.DevelopmentKeys:
		ti.AllowDevelopmentKeys = true
		ti.CircuitBasis = "development keys, allowed by the operator (INSECURE: anyone can forge proofs)"
	case opts.CircuitID != "":
		ti.CircuitBasis = "circuit id given by the operator"
	case p.Transcript:
		basis, err := p.verifyTranscript(ctx, opts.Progress)
		if err != nil {
			return nil, err
		}
		ti.CircuitBasis = basis
	default:
		return nil, fmt.Errorf("%w: circuit %s (setup %q) has no ceremony transcript in the publication; give the expected circuit id (--circuit-id) learnt from the issuer out of band, or, for tests and demos only, allow development keys (--allow-development-keys)",
			ErrUntrustedKeys, p.CircuitID, p.Setup)
	}
	return ti, nil
}

// jsonIndent marshals v for a file an operator reads.
func jsonIndent(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
