package ceremony

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/publication"
)

// transcriptMagic opens a transcript and names its version.
const transcriptMagic = "yinzheng-ceremony-transcript/v1\n"

// packTranscript packs a finalized ceremony into one file. After the
// magic, in this order (integers are big-endian uint32, a "field" is a
// uint32 length and that many bytes):
//
//	depth
//	field  circuit digest (multibase, as in the manifest)
//	count  of phase 1 contributions, then as many fields (gnark's encoding)
//	field  phase 1 beacon
//	field  SHA-256 of the phase 2 base (to tell a wrong beacon from a bad contribution)
//	count  of phase 2 contributions, then as many fields
//	field  phase 2 beacon
//	field  circuit id of the resulting keys
//
// and nothing after. The base states of both phases are not included:
// they follow from the circuit and the beacon of phase 1.
func packTranscript(rec *record, base2Hash []byte) []byte {
	var b bytes.Buffer
	field := func(data []byte) {
		putUint32(&b, uint32(len(data)))
		b.Write(data)
	}
	b.WriteString(transcriptMagic)
	putUint32(&b, uint32(rec.depth))
	field([]byte(rec.circuitDigest))
	putUint32(&b, uint32(len(rec.phase1)))
	for _, c := range rec.phase1 {
		field(c)
	}
	field(rec.beacon1)
	field(base2Hash)
	putUint32(&b, uint32(len(rec.phase2)))
	for _, c := range rec.phase2 {
		field(c)
	}
	field(rec.beacon2)
	field([]byte(rec.circuitID))
	return b.Bytes()
}

// parseTranscript reads a transcript into a record (not yet checked).
func parseTranscript(data []byte) (*record, error) {
	if len(data) > publication.MaxTranscriptSize {
		return nil, fmt.Errorf("%w: a transcript of %d bytes, at most %d", ErrMalformed, len(data), publication.MaxTranscriptSize)
	}
	if !bytes.HasPrefix(data, []byte(transcriptMagic)) {
		return nil, fmt.Errorf("%w: not a %q transcript", ErrMalformed, transcriptMagic[:len(transcriptMagic)-1])
	}
	r := &reader{data: data[len(transcriptMagic):]}
	rec := &record{depth: int(r.uint32("depth"))}
	rec.circuitDigest = string(r.field("circuit digest", 1<<10))
	rec.phase1 = r.contributions(1)
	rec.beacon1 = r.field("phase 1 beacon", maxBeacon)
	rec.base2Hash = r.field("phase 2 base hash", challengeSize)
	rec.phase2 = r.contributions(2)
	rec.beacon2 = r.field("phase 2 beacon", maxBeacon)
	rec.circuitID = string(r.field("circuit id", 1<<10))
	if r.err == nil && len(r.data) != 0 {
		r.err = fmt.Errorf("%w: %d bytes after the transcript", ErrMalformed, len(r.data))
	}
	if r.err != nil {
		return nil, r.err
	}
	if _, err := zkhash.Levels(rec.depth); err != nil {
		return nil, fmt.Errorf("%w: transcript for depth %d", ErrMalformed, rec.depth)
	}
	if len(rec.base2Hash) != challengeSize {
		return nil, fmt.Errorf("%w: phase 2 base hash of %d bytes", ErrMalformed, len(rec.base2Hash))
	}
	// An empty beacon would leave the phase open; check refuses it as a
	// beacon, here it is a malformed transcript.
	if len(rec.beacon1) == 0 || len(rec.beacon2) == 0 || rec.circuitID == "" {
		return nil, fmt.Errorf("%w: a transcript without both beacons and the circuit id", ErrMalformed)
	}
	return rec, nil
}

type reader struct {
	data []byte
	err  error
}

func (r *reader) uint32(what string) uint32 {
	if r.err != nil {
		return 0
	}
	if len(r.data) < 4 {
		r.err = fmt.Errorf("%w: transcript truncated in %s", ErrMalformed, what)
		return 0
	}
	v := binary.BigEndian.Uint32(r.data)
	r.data = r.data[4:]
	return v
}

func (r *reader) field(what string, limit int) []byte {
	n := r.uint32(what)
	if r.err != nil {
		return nil
	}
	if int64(n) > int64(limit) || int64(n) > int64(len(r.data)) {
		r.err = fmt.Errorf("%w: %s of %d bytes", ErrMalformed, what, n)
		return nil
	}
	b := r.data[:n:n]
	r.data = r.data[n:]
	return b
}

func (r *reader) contributions(phase int) [][]byte {
	n := r.uint32(fmt.Sprintf("phase %d count", phase))
	if r.err == nil && n > maxContributions {
		r.err = fmt.Errorf("%w: %d contributions to phase %d", ErrMalformed, n, phase)
	}
	if r.err != nil {
		return nil
	}
	out := make([][]byte, 0, n)
	for i := range n {
		c := r.field(fmt.Sprintf("phase %d contribution %d", phase, i+1), len(r.data))
		if r.err != nil {
			return nil
		}
		out = append(out, c)
	}
	return out
}

// VerifyTranscript verifies a transcript as Verify does a directory, and
// recomputes from it the keys, hence the circuit id in the report.
func VerifyTranscript(data []byte, progress func(string)) (*Report, error) {
	r, _, err := verifyTranscript(data, progress)
	return r, err
}

func verifyTranscript(data []byte, progress func(string)) (*Report, *checked, error) {
	if progress == nil {
		progress = noProgress
	}
	rec, err := parseTranscript(data)
	if err != nil {
		return nil, nil, err
	}
	ch, err := check(rec, progress)
	if err != nil {
		return nil, nil, err
	}
	return ch.report(rec, data), ch, nil
}

// VerifyKeys checks ceremony keys before an issuer adopts them: keysDir's
// manifest and verifying key (bound to each other by the circuit id), and
// keysDir/transcript.bin, which must verify and recompute exactly these
// keys (circuit id, proving key digest), for this depth and circuit digest,
// and have the manifest's transcript digest. Development keys are refused
// by content (circuits.CheckSetup), whatever the manifest says.
func VerifyKeys(keysDir string, progress func(string)) (*Report, error) {
	m, err := circuits.ReadManifest(keysDir)
	if err != nil {
		return nil, err
	}
	vkBytes, err := readLimited(filepath.Join(keysDir, circuits.VerifyingKeyFile), publication.MaxVerifyingKeySize)
	if err != nil {
		return nil, err
	}
	if _, err := circuits.LoadVerifying(m, vkBytes); err != nil {
		return nil, err
	}
	if err := circuits.CheckSetup(m, false); err != nil {
		return nil, err
	}
	if m.Setup != circuits.SetupCeremony {
		return nil, fmt.Errorf("%w: keys from the %q setup have no transcript", ErrTranscriptMismatch, m.Setup)
	}
	data, err := readLimited(filepath.Join(keysDir, TranscriptFile), publication.MaxTranscriptSize)
	if err != nil {
		return nil, err
	}
	if d := transcriptDigest(data); d != m.TranscriptDigest {
		return nil, fmt.Errorf("%w: the transcript has digest %s, the manifest says %q", ErrTranscriptMismatch, d, m.TranscriptDigest)
	}
	r, ch, err := verifyTranscript(data, progress)
	if err != nil {
		return nil, err
	}
	got := ch.keys.Manifest
	switch {
	case got.Depth != m.Depth || got.CircuitDigest != m.CircuitDigest:
		return nil, fmt.Errorf("%w: the transcript is for depth %d, circuit %s; the keys for depth %d, circuit %s",
			ErrTranscriptMismatch, got.Depth, got.CircuitDigest, m.Depth, m.CircuitDigest)
	case got.CircuitID != m.CircuitID:
		return nil, fmt.Errorf("%w: the transcript yields circuit %s, the keys are circuit %s", ErrTranscriptMismatch, got.CircuitID, m.CircuitID)
	case got.ProvingKeyDigest != m.ProvingKeyDigest:
		return nil, fmt.Errorf("%w: the transcript yields proving key %s, the manifest says %s", ErrTranscriptMismatch, got.ProvingKeyDigest, m.ProvingKeyDigest)
	}
	return r, nil
}
