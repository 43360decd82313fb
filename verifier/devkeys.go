package verifier

import (
	"context"
	"fmt"

	"github.com/yinzheng-id/yinzheng/circuits"
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

// verifyTranscript verifies the publication's ceremony transcript.
func (p *Inspection) verifyTranscript(ctx context.Context, progress func(string)) (string, error) {
	return "", fmt.Errorf("%w: this build cannot verify ceremony transcripts; give --circuit-id", ErrUntrustedKeys)
}
