package verifier

import (
	"context"
	"fmt"

	"github.com/yinzheng-id/yinzheng/circuits"
)

// developmentCircuit reports whether m describes development keys.
func developmentCircuit(m circuits.Manifest) bool {
	return m.Setup == circuits.SetupDevelopment
}

// checkSetup refuses development keys unless allowed.
func checkSetup(m circuits.Manifest, allow bool) error {
	if developmentCircuit(m) && !allow {
		return fmt.Errorf("%w: the issuer publishes development keys (their setup randomness is public) and they were not allowed", ErrUntrustedKeys)
	}
	return nil
}

// verifyTranscript verifies the publication's ceremony transcript.
func (p *Inspection) verifyTranscript(ctx context.Context, progress func(string)) (string, error) {
	return "", fmt.Errorf("%w: this build cannot verify ceremony transcripts; give --circuit-id", ErrUntrustedKeys)
}
