// Package publication names the public, cacheable files an issuer publishes
// and reads them from a directory or over HTTP.
//
// An issuer directory keeps them under DIR/public/; an issuer service serves
// the same names under its base URL. Holders and verifiers read them through a
// Source, so the same code works against a local issuer (tests, the demo) and a
// remote one. Everything a Source returns is untrusted until the caller has
// checked its signature (root statements, the status list) or its digest (the
// verifying key against the circuit id): a Source only bounds sizes and time.
package publication

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Names of the published files.
const (
	// IssuerName is the issuer's metadata: its public key, circuit id and
	// status list URI (see Metadata).
	IssuerName = "issuer.json"
	// LatestRootName is the root statement of the latest published epoch.
	LatestRootName = "roots/latest.jws"
	// StatusListName is the signed Token Status List of the SD-JWT form.
	StatusListName = "statuslist.jwt"
	// ManifestName is the circuit keys' manifest (circuits.Manifest).
	ManifestName = "circuit/manifest.json"
	// VerifyingKeyName is the circuit's verifying key.
	VerifyingKeyName = "circuit/verifying.key"
	// ProvingKeyName is the circuit's proving key (large; holders only).
	ProvingKeyName = "circuit/proving.key"
	// TranscriptName is the MPC ceremony transcript behind ceremony keys
	// (circuits/ceremony): anyone can verify that it yields the published
	// verifying key. Development keys have none.
	TranscriptName = "circuit/transcript.bin"
)

// DefaultEpochInterval is how often an issuer publishes an epoch by default:
// the issuances and revocations of one interval share one epoch, and an
// interval without changes still gets a heartbeat epoch so that roots stay
// fresh. Verifiers derive their default maximum root age from it.
const DefaultEpochInterval = 10 * time.Minute

// EpochGrace is how many epochs before the issuer's latest a zero-knowledge
// presentation may still be made under: the latest and the EpochGrace
// before it, never older. A wallet refreshes to the latest before proving
// and answers under the newest of these the request names (it always holds
// a path for each of them), so a verifier that varies a request's epochs
// learns nothing about the wallet; a verifier puts no older epoch in a
// request. One epoch covers a request made just before a publication and
// answered just after.
const EpochGrace = 1

// Size limits a reader should pass to Source.Get. They are generous bounds
// against a hostile or broken publisher, not the expected sizes.
const (
	// MaxMetadataSize bounds issuer.json, manifests and root statements.
	MaxMetadataSize = 1 << 20
	// MaxStatusListSize bounds the status list token (2^32 bits compressed
	// well, but an adversarial list must not exhaust memory).
	MaxStatusListSize = 64 << 20
	// MaxDeltaSize bounds one epoch delta.
	MaxDeltaSize = 256 << 20
	// MaxBucketSize bounds one bucket (8 levels, 4^8 = 2^16 leaves, are 2 MiB).
	MaxBucketSize = 4 << 20
	// MaxVerifyingKeySize bounds a verifying key (a few kilobytes in practice).
	MaxVerifyingKeySize = 1 << 20
	// MaxProvingKeySize bounds a proving key (tens of megabytes at depth 32).
	MaxProvingKeySize = 1 << 30
	// MaxTranscriptSize bounds a ceremony transcript (a few megabytes at
	// depth 32 with a handful of contributions).
	MaxTranscriptSize = 512 << 20
)

// Errors a Source returns, wrapped with the name and the cause.
var (
	// ErrNotFound means the publisher does not have the file.
	ErrNotFound = errors.New("publication: file not published")
	// ErrTooLarge means the file exceeds the caller's size limit.
	ErrTooLarge = errors.New("publication: file exceeds size limit")
	// ErrName means a name is not one a publication can hold.
	ErrName = errors.New("publication: invalid file name")
)

// Source reads published files. Implementations are safe for concurrent use.
type Source interface {
	// Get returns the file called name, refusing one larger than limit
	// bytes with ErrTooLarge and a missing one with ErrNotFound.
	Get(ctx context.Context, name string, limit int64) ([]byte, error)
}

// RootName returns the name of the root statement of epoch.
func RootName(epoch uint64) string {
	return "roots/" + strconv.FormatUint(epoch, 10) + ".jws"
}

// DeltaName returns the name of the delta of epoch.
func DeltaName(epoch uint64) string {
	return "deltas/" + strconv.FormatUint(epoch, 10) + ".json"
}

// SpanName returns the name of span delta index of level L: the merge of
// the deltas of epochs index·2^L + 1 … (index+1)·2^L
// (revocation.MergeDeltas, revocation.SpanIndex), in the binary form of a
// delta. Its size is bounded by MaxDeltaSize.
func SpanName(level int, index uint64) string {
	return "deltas/span/" + strconv.Itoa(level) + "/" + strconv.FormatUint(index, 10) + ".json"
}

// BucketName returns the name of bucket number index of k levels (4^k
// leaves): the bucket of the serials index×4^k … (index+1)×4^k − 1
// (revocation.BucketIndex). The name carries the bucket, never a serial, so
// the publisher, a CDN or an access log learns only that the holder is one
// of 4^k. Buckets are computed on request, so only an HTTP publisher serves
// them.
func BucketName(k int, index uint64) string {
	return "buckets/" + strconv.Itoa(k) + "/" + strconv.FormatUint(index, 10)
}

// CheckName refuses a name that could leave the publication: empty, absolute,
// with empty, "." or ".." segments, backslashes or characters outside
// [A-Za-z0-9._-] and "/". Every name this package builds passes.
func CheckName(name string) error {
	if name == "" || len(name) > 256 {
		return fmt.Errorf("%w: %q", ErrName, name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q", ErrName, name)
		}
		for _, c := range seg {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '.' || c == '_' || c == '-'
			if !ok {
				return fmt.Errorf("%w: %q", ErrName, name)
			}
		}
	}
	return nil
}
