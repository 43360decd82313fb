package circuits

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/emmansun/gmsm/sm3"
	"github.com/multiformats/go-multibase"

	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/atomicfile"
	"github.com/yinzheng-id/yinzheng/internal/strictjson"
)

// Artifact format and identity of the circuit. CircuitVersion changes
// whenever the statement changes; the circuit digest catches every other
// change (a new gnark version compiling differently, say).
const (
	KeysFormat     = "yinzheng-circuit-keys/v1"
	CircuitName    = "presentation"
	CircuitVersion = 2
	Curve          = "bn254"
	Backend        = "groth16"

	// SetupDevelopment marks keys from the deterministic development setup:
	// anyone can recompute its toxic waste, so anyone can forge proofs.
	SetupDevelopment = "development"
	// SetupCeremony marks keys from a multi-party ceremony (gnark's mpcsetup).
	SetupCeremony = "ceremony"

	// DevelopmentBeacon seeds the development setup. It is public on purpose.
	DevelopmentBeacon = "yinzheng development setup v1 — INSECURE, for tests and demos only"

	// ProductionDepth is the accumulator depth of the production circuit.
	ProductionDepth = 32
)

// File names inside a keys directory. The manifest is written last, so a
// directory with a manifest is complete.
const (
	manifestFile     = "manifest.json"
	provingKeyFile   = "proving.key"
	verifyingKeyFile = "verifying.key"
	maxManifestBytes = 64 << 10

	// VerifyingKeyFile is the verifying key's name in a keys directory.
	VerifyingKeyFile = verifyingKeyFile
	maxVerifyingKey  = 64 << 10
	maxProvingKey    = 64 << 20
)

// Errors returned when keys do not fit their manifest. ErrDevelopmentKeys
// (beside the statement errors) refuses development keys.
var (
	// ErrSetupMismatch: the manifest's setup label contradicts the keys.
	ErrSetupMismatch = errors.New("circuits: the manifest's setup label contradicts its keys")
	// ErrKeysMismatch: a key file does not hash to the manifest's digest.
	ErrKeysMismatch = errors.New("circuits: keys do not match their manifest")
)

// Manifest describes a set of keys: which circuit they belong to and where
// they came from. It is JSON, stored beside the keys.
type Manifest struct {
	Format         string `json:"format"`
	Circuit        string `json:"circuit"`
	CircuitVersion int    `json:"circuit_version"`
	Schema         string `json:"schema"`
	Depth          int    `json:"depth"`
	Curve          string `json:"curve"`
	Backend        string `json:"backend"`
	Constraints    int    `json:"constraints"`
	PublicInputs   int    `json:"public_inputs"`
	// CircuitDigest is multibase base58btc of SM3 over the compiled
	// constraint system: keys only fit the circuit with this digest.
	CircuitDigest string `json:"circuit_digest"`
	// CircuitID is multibase base58btc of SM3 over the verifying key: the
	// name verifiers and requests use for these keys.
	CircuitID string `json:"circuit_id"`
	// ProvingKeyDigest is multibase base58btc of SM3 over the proving key file.
	ProvingKeyDigest string `json:"proving_key_digest"`
	Setup            string `json:"setup"`
	SetupNote        string `json:"setup_note,omitempty"`
	// TranscriptDigest is, for ceremony keys, multibase base58btc of SM3
	// over the ceremony transcript that recomputes these keys (published
	// beside them; see circuits/ceremony).
	TranscriptDigest string `json:"transcript_digest,omitempty"`
}

// Compiled is the presentation circuit compiled for one depth.
type Compiled struct {
	Depth  int
	CS     constraint.ConstraintSystem
	Digest string // multibase SM3 of the serialized constraint system
}

// Compile compiles the presentation circuit for a tree of the given depth.
func Compile(depth int) (*Compiled, error) {
	circuit, err := NewCircuit(depth)
	if err != nil {
		return nil, err
	}
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circuit)
	if err != nil {
		return nil, fmt.Errorf("circuits: compile: %w", err)
	}
	h := sm3.New()
	if _, err := ccs.WriteTo(h); err != nil {
		return nil, fmt.Errorf("circuits: digest constraint system: %w", err)
	}
	return &Compiled{Depth: depth, CS: ccs, Digest: multibaseID(h.Sum(nil))}, nil
}

// Info returns the manifest fields that follow from the circuit alone.
func (c *Compiled) Info() Manifest {
	return Manifest{
		Format:         KeysFormat,
		Circuit:        CircuitName,
		CircuitVersion: CircuitVersion,
		Schema:         SchemaName,
		Depth:          c.Depth,
		Curve:          Curve,
		Backend:        Backend,
		Constraints:    c.CS.GetNbConstraints(),
		PublicInputs:   c.CS.GetNbPublicVariables() - 1, // without the constant one
		CircuitDigest:  c.Digest,
	}
}

func multibaseID(digest []byte) string {
	id, err := multibase.Encode(multibase.Base58BTC, digest)
	if err != nil {
		panic("circuits: multibase base58btc encoding is unavailable: " + err.Error()) // cannot happen: the encoding is built in
	}
	return id
}

// Keys are a circuit's proving and verifying keys with their manifest.
type Keys struct {
	Manifest Manifest
	Compiled *Compiled
	PK       groth16.ProvingKey
	VK       groth16.VerifyingKey
}

// DevelopmentSetup runs the deterministic development setup: gnark's MPC
// setup with no contributions, sealed by the public DevelopmentBeacon. Its
// randomness is known to everyone, so the keys are labelled development keys
// and refused where production keys are expected. Keys from a real ceremony
// come out of the same two phases, with contributions, in the same format.
func DevelopmentSetup(c *Compiled, progress func(stage string)) (*Keys, error) {
	if progress == nil {
		progress = func(string) {}
	}
	r1csBN254, ok := c.CS.(*cs.R1CS)
	if !ok {
		return nil, fmt.Errorf("circuits: constraint system is %T, want a BN254 R1CS", c.CS)
	}
	domain := ecc.NextPowerOfTwo(uint64(c.CS.GetNbConstraints()))
	progress("phase 1 (powers of tau)")
	var p1 mpcsetup.Phase1
	p1.Initialize(domain)
	commons := p1.Seal([]byte(DevelopmentBeacon + " / phase 1"))
	progress("phase 2 (circuit specific)")
	var p2 mpcsetup.Phase2
	evals := p2.Initialize(r1csBN254, &commons)
	pk, vk := p2.Seal(&commons, &evals, []byte(DevelopmentBeacon+" / phase 2"))
	return newKeys(c, pk, vk, SetupDevelopment, DevelopmentBeacon)
}

// NewCeremonyKeys labels keys sealed by a multi-party ceremony
// (circuits/ceremony) for the circuit c; the ceremony fills in the
// manifest's TranscriptDigest. Keys that the development setup would give
// are refused: a ceremony without contributions is that setup.
func NewCeremonyKeys(c *Compiled, pk groth16.ProvingKey, vk groth16.VerifyingKey) (*Keys, error) {
	k, err := newKeys(c, pk, vk, SetupCeremony, "")
	if err != nil {
		return nil, err
	}
	if err := CheckSetup(k.Manifest, false); err != nil {
		return nil, err
	}
	return k, nil
}

func newKeys(c *Compiled, pk groth16.ProvingKey, vk groth16.VerifyingKey, setup, note string) (*Keys, error) {
	m := c.Info()
	m.Setup, m.SetupNote = setup, note
	var buf bytes.Buffer
	if _, err := vk.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("circuits: encode verifying key: %w", err)
	}
	m.CircuitID = multibaseID(sm3Sum(buf.Bytes()))
	buf.Reset()
	if _, err := pk.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("circuits: encode proving key: %w", err)
	}
	m.ProvingKeyDigest = multibaseID(sm3Sum(buf.Bytes()))
	return &Keys{Manifest: m, Compiled: c, PK: pk, VK: vk}, nil
}

func sm3Sum(b []byte) []byte {
	d := sm3.Sum(b)
	return d[:]
}

// Save writes the keys into dir (created if needed). Each file is written
// to a temporary name and renamed into place, the manifest last, so a crash
// leaves either the old keys or the new ones.
func (k *Keys) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("circuits: keys directory: %w", err)
	}
	var pk, vk bytes.Buffer
	if _, err := k.PK.WriteTo(&pk); err != nil {
		return fmt.Errorf("circuits: encode proving key: %w", err)
	}
	if _, err := k.VK.WriteTo(&vk); err != nil {
		return fmt.Errorf("circuits: encode verifying key: %w", err)
	}
	manifest, err := json.MarshalIndent(k.Manifest, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{provingKeyFile, pk.Bytes()}, {verifyingKeyFile, vk.Bytes()}, {manifestFile, append(manifest, '\n')}} {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("circuits: save keys: %w", err)
		}
	}
	return nil
}

// LoadOptions say which keys a caller accepts.
type LoadOptions struct {
	// AllowDevelopment accepts keys from the development setup. Only tests,
	// the demo and benchmarks set it.
	AllowDevelopment bool
	// VerifyingOnly skips the proving key (verifiers never need it).
	VerifyingOnly bool
	// KeepUncompressed reads the proving key from its uncompressed copy
	// (RawProvingKeyFile) when that copy is the manifest's key, and
	// otherwise decodes the compressed key and writes the copy for next
	// time: wallets and the development cache set it, as decompressing
	// is the slowest part of loading.
	KeepUncompressed bool
}

// ReadManifest reads and checks the manifest of a keys directory.
func ReadManifest(dir string) (Manifest, error) {
	data, err := readLimited(filepath.Join(dir, manifestFile), maxManifestBytes)
	if err != nil {
		return Manifest{}, err
	}
	m, err := ParseManifest(data)
	if err != nil {
		return Manifest{}, fmt.Errorf("circuits: manifest %s: %w", dir, err)
	}
	return m, nil
}

// ParseManifest parses a manifest strictly (one JSON object, no unknown
// member) and checks that it describes keys of this circuit, curve and
// backend, from a known setup.
func ParseManifest(data []byte) (Manifest, error) {
	var m Manifest
	if err := strictjson.Unmarshal(data, maxManifestBytes, &m); err != nil {
		return Manifest{}, err
	}
	switch {
	case m.Format != KeysFormat:
		return Manifest{}, fmt.Errorf("format %q, want %q", m.Format, KeysFormat)
	case m.Circuit != CircuitName || m.CircuitVersion != CircuitVersion || m.Schema != SchemaName:
		return Manifest{}, fmt.Errorf("keys for circuit %s v%d (%s), want %s v%d (%s)",
			m.Circuit, m.CircuitVersion, m.Schema, CircuitName, CircuitVersion, SchemaName)
	case m.Curve != Curve || m.Backend != Backend:
		return Manifest{}, fmt.Errorf("%s/%s keys, want %s/%s", m.Backend, m.Curve, Backend, Curve)
	case m.Setup != SetupDevelopment && m.Setup != SetupCeremony:
		return Manifest{}, fmt.Errorf("unknown setup %q", m.Setup)
	case !validDepth(m.Depth):
		return Manifest{}, fmt.Errorf("depth %d is not an even number in %d…%d", m.Depth, zkhash.LevelBits, zkhash.MaxDepth)
	}
	return m, nil
}

// LoadVerifying returns verifying-only keys from a manifest and the bytes
// of its verifying key, which must be the key's canonical (compressed)
// encoding, hash to the manifest's circuit id and have the manifest's
// number of public inputs. Verifiers use it: they never
// need the proving key nor the compiled circuit.
//
// LoadVerifying does not judge the setup: callers that refuse development
// keys call CheckSetup on the manifest it accepted.
func LoadVerifying(m Manifest, vkBytes []byte) (*Keys, error) {
	if id := multibaseID(sm3Sum(vkBytes)); id != m.CircuitID {
		return nil, fmt.Errorf("%w: verifying key has id %s, the manifest says %s", ErrKeysMismatch, id, m.CircuitID)
	}
	vk := groth16.NewVerifyingKey(ecc.BN254)
	if _, err := vk.ReadFrom(bytes.NewReader(vkBytes)); err != nil {
		return nil, fmt.Errorf("circuits: verifying key: %w", err)
	}
	// The id is a digest of bytes, so it identifies the key only if the
	// bytes are the key's one encoding: the decoder leaves trailing bytes
	// unread and accepts uncompressed points too, and either would give the
	// development key (whose trapdoor is public) an id outside the table of
	// development circuits.
	var canonical bytes.Buffer
	if _, err := vk.WriteTo(&canonical); err != nil {
		return nil, fmt.Errorf("circuits: verifying key: %w", err)
	}
	if !bytes.Equal(canonical.Bytes(), vkBytes) {
		return nil, fmt.Errorf("%w: the verifying key is not in its canonical encoding (its id would not identify it)", ErrKeysMismatch)
	}
	if n := vk.NbPublicWitness(); n != m.PublicInputs {
		return nil, fmt.Errorf("circuits: verifying key has %d public inputs, the manifest %d", n, m.PublicInputs)
	}
	return &Keys{Manifest: m, VK: vk}, nil
}

// DevelopmentCircuitID returns the circuit id that the deterministic
// development setup yields at depth, and false for a depth no circuit has.
func DevelopmentCircuitID(depth int) (string, bool) {
	id, ok := developmentCircuits[depth]
	return id, ok
}

// developmentIDs is developmentCircuits inverted.
var developmentIDs = func() map[string]int {
	ids := make(map[string]int, len(developmentCircuits))
	for depth, id := range developmentCircuits {
		ids[id] = depth
	}
	return ids
}()

// IsDevelopmentCircuit reports whether id is the circuit id of development
// keys at some depth: keys whose trapdoor anyone can recompute from the
// public DevelopmentBeacon.
func IsDevelopmentCircuit(id string) bool {
	_, ok := developmentIDs[id]
	return ok
}

// CheckSetup judges the setup of keys by their content, not by the label:
// m must be a manifest whose circuit id was checked against the verifying
// key (Load and LoadVerifying do that). Keys with a development circuit id
// are refused with ErrDevelopmentKeys unless allowDevelopment, whatever
// m.Setup says, since relabelling them "ceremony" is a one-line edit; a
// manifest labelled development whose id is not a development one is
// refused with ErrSetupMismatch, as the label is then a lie of some kind.
func CheckSetup(m Manifest, allowDevelopment bool) error {
	dev := IsDevelopmentCircuit(m.CircuitID)
	switch {
	case dev && !allowDevelopment:
		return fmt.Errorf("%w: circuit %s is the development setup's (labelled %q)", ErrDevelopmentKeys, m.CircuitID, m.Setup)
	case m.Setup == SetupDevelopment && !dev:
		return fmt.Errorf("%w: labelled %s, but circuit %s is not the development setup's", ErrSetupMismatch, SetupDevelopment, m.CircuitID)
	}
	return nil
}

// Load reads keys from dir and checks them against the manifest and against
// c, the circuit compiled here: keys for another circuit digest are refused,
// and so are development keys (recognised by their circuit id, see
// CheckSetup) unless opts.AllowDevelopment.
func Load(dir string, c *Compiled, opts LoadOptions) (*Keys, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	// Cheap and decisive on its own: a development id is refused here, and
	// an edited id fails the binding to the verifying key below.
	if err := CheckSetup(m, opts.AllowDevelopment); err != nil {
		return nil, fmt.Errorf("%w (%s)", err, dir)
	}
	if m.Depth != c.Depth || m.CircuitDigest != c.Digest {
		return nil, fmt.Errorf("circuits: keys in %s are for another circuit (depth %d, digest %s), this one is depth %d, digest %s",
			dir, m.Depth, m.CircuitDigest, c.Depth, c.Digest)
	}
	vkBytes, err := readLimited(filepath.Join(dir, verifyingKeyFile), maxVerifyingKey)
	if err != nil {
		return nil, err
	}
	k, err := LoadVerifying(m, vkBytes)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	k.Compiled = c
	if opts.VerifyingOnly {
		return k, nil
	}
	if opts.KeepUncompressed {
		if pk, err := loadRawProvingKey(dir, m); err == nil {
			k.PK = pk
			return k, nil
		}
	}
	pkBytes, err := readLimited(filepath.Join(dir, provingKeyFile), maxProvingKey)
	if err != nil {
		return nil, err
	}
	if d := multibaseID(sm3Sum(pkBytes)); d != m.ProvingKeyDigest {
		return nil, fmt.Errorf("%w: proving key in %s has digest %s, the manifest says %s", ErrKeysMismatch, dir, d, m.ProvingKeyDigest)
	}
	// The digest matched the manifest, so the expensive subgroup checks of
	// ReadFrom add nothing: a bad proving key can only make proofs that fail.
	pk := &groth16bn254.ProvingKey{}
	if _, err := pk.UnsafeReadFrom(bytes.NewReader(pkBytes)); err != nil {
		return nil, fmt.Errorf("circuits: proving key in %s: %w", dir, err)
	}
	k.PK = pk
	if opts.KeepUncompressed {
		keepRawProvingKey(dir, pk)
	}
	return k, nil
}

// LoadOrSetupDevelopment loads development keys for c from dir, or, when
// they are missing or belong to another circuit, runs the development setup
// and saves its keys there. Tests, the demo and the benchmarks use it.
func LoadOrSetupDevelopment(dir string, c *Compiled, progress func(stage string)) (*Keys, error) {
	k, err := Load(dir, c, LoadOptions{AllowDevelopment: true, KeepUncompressed: true})
	if err == nil {
		return k, nil
	}
	if m, merr := ReadManifest(dir); merr == nil && m.Setup != SetupDevelopment {
		return nil, fmt.Errorf("circuits: %s holds %s keys that do not fit this circuit; refusing to overwrite them: %w", dir, m.Setup, err)
	}
	k, err = DevelopmentSetup(c, progress)
	if err != nil {
		return nil, err
	}
	if err := k.Save(dir); err != nil {
		return nil, err
	}
	return k, nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("circuits: %s is missing", path)
		}
		return nil, fmt.Errorf("circuits: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("circuits: read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("circuits: %s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// validDepth reports whether a circuit can be compiled for depth.
func validDepth(depth int) bool {
	_, err := zkhash.Levels(depth)
	return err == nil
}
