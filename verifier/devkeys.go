package verifier

import (
	"context"
	"fmt"
	"strings"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/ceremony"
	"github.com/yinzheng-id/yinzheng/publication"
)

// developmentCircuit reports whether m describes development keys, by
// content: its circuit id (checked against the verifying key by
// circuits.LoadVerifying) is one of the deterministic development setup's.
// The manifest's label decides nothing.
func developmentCircuit(m circuits.Manifest) bool {
	return circuits.IsDevelopmentCircuit(m.CircuitID)
}

// checkSetup refuses development keys unless allowed (and a manifest
// labelled development whose keys are not), as circuits.CheckSetup does.
// The error wraps both ErrUntrustedKeys and the circuits sentinel.
func checkSetup(m circuits.Manifest, allow bool) error {
	if err := circuits.CheckSetup(m, allow); err != nil {
		return fmt.Errorf("%w: %w (their setup randomness is public: anyone can forge proofs)", ErrUntrustedKeys, err)
	}
	return nil
}

// verifyTranscript verifies the publication's ceremony transcript and that
// it yields the published circuit: every contribution checks, both seals
// reproduce from their beacons, and the verifying key recomputed from it
// has the published circuit id at the published depth. It returns the
// basis to record in the pin.
func (p *Inspection) verifyTranscript(ctx context.Context, progress func(string)) (string, error) {
	data, err := p.src.Get(ctx, publication.TranscriptName, publication.MaxTranscriptSize)
	if err != nil {
		return "", fmt.Errorf("verifier: ceremony transcript: %w", err)
	}
	rep, err := ceremony.VerifyTranscript(data, progress)
	if err != nil {
		return "", fmt.Errorf("%w: the ceremony transcript does not verify: %w", ErrUntrustedKeys, err)
	}
	if rep.CircuitID != p.CircuitID || rep.Depth != p.Depth {
		return "", fmt.Errorf("%w: the ceremony transcript yields circuit %s at depth %d, the issuer publishes %s at depth %d",
			ErrUntrustedKeys, rep.CircuitID, rep.Depth, p.CircuitID, p.Depth)
	}
	// The keys are sound if one contributor was honest: the operator looks
	// for a contribution hash it trusts (its own, or one published by a
	// contributor it trusts), so every hash goes into the record.
	hashes := make([]string, len(rep.Contributions))
	for i, c := range rep.Contributions {
		hashes[i] = fmt.Sprintf("phase %d #%d %s", c.Phase, c.Index, c.Hash)
	}
	return fmt.Sprintf("ceremony transcript verified (transcript digest %s; beacons %s and %s; %d contributions: %s)",
		rep.TranscriptDigest, rep.Beacon1, rep.Beacon2, len(rep.Contributions), strings.Join(hashes, ", ")), nil
}
