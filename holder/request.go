package holder

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/schemas"
	"github.com/yinzheng-id/yinzheng/wire"
)

// ErrRequest reports a verifier request the wallet will not answer; the
// message names the problem.
var ErrRequest = errors.New("holder: request refused")

func requestErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRequest}, a...)...)
}

// maxClockSkew is how far a request's "today" may be from the wallet's own
// (time zones differ by less than a day either way).
const maxClockSkew = 36 * time.Hour

// zkRequest is a request checked and turned into the circuit's statement.
type zkRequest struct {
	req       *Request
	statement circuits.Statement
	today     schemas.Date
}

// checkCommon checks the members both kinds of request need.
func checkCommon(r *Request, now time.Time) error {
	if r.Version != FormatVersion {
		return requestErr("version %d, this wallet reads %d", r.Version, FormatVersion)
	}
	if r.ID == "" {
		return requestErr("no id")
	}
	if r.ExpiresAt == "" {
		return requestErr("no expires_at")
	}
	exp, err := time.Parse(time.RFC3339, r.ExpiresAt)
	if err != nil {
		return requestErr("expires_at: %v", err)
	}
	if now.After(exp) {
		return requestErr("it expired at %s", r.ExpiresAt)
	}
	if _, err := nonceBytes(r); err != nil {
		return err
	}
	return nil
}

func nonceBytes(r *Request) ([]byte, error) {
	n, err := base64.RawURLEncoding.Strict().DecodeString(r.Nonce)
	if err != nil {
		return nil, requestErr("nonce is not base64url: %v", err)
	}
	if len(n) < schemas.MinNonceBytes || len(n) > schemas.MaxNonceBytes {
		return nil, requestErr("nonce of %d bytes, want %d to %d", len(n), schemas.MinNonceBytes, schemas.MaxNonceBytes)
	}
	return n, nil
}

// checkZK checks a zero-knowledge request and builds its statement (all
// but the root). Beyond well-formedness it refuses a request that would
// reveal more than it says: the birth-date window must be exactly the one
// its age predicates give on its "today", and "today" must be the wallet's
// today give or take a time zone, so a verifier cannot narrow the window
// to learn a birth date.
func checkZK(r *Request, now time.Time) (*zkRequest, error) {
	if err := checkCommon(r, now); err != nil {
		return nil, err
	}
	if r.SDJWT != nil {
		return nil, requestErr("it asks for an SD-JWT presentation (answer it with holder present)")
	}
	if r.Issuer == "" {
		return nil, requestErr("no issuer")
	}
	if r.CircuitID == "" {
		return nil, requestErr("no circuit_id")
	}
	if len(r.Epochs) == 0 {
		return nil, requestErr("it accepts no epoch")
	}
	today, err := schemas.ParseDate(r.Today)
	if err != nil {
		return nil, requestErr("today: %v", err)
	}
	ownToday := schemas.DateOf(now.UTC())
	todayTime := time.Date(today.Year, today.Month, today.Day, 12, 0, 0, 0, time.UTC)
	ownTime := time.Date(ownToday.Year, ownToday.Month, ownToday.Day, 12, 0, 0, 0, time.UTC)
	if d := todayTime.Sub(ownTime); d > maxClockSkew || d < -maxClockSkew {
		return nil, requestErr("its today %s is not the wallet's today %s", today, ownToday)
	}
	for _, a := range []*int{r.Predicates.AgeOver, r.Predicates.AgeUnder} {
		if a != nil && (*a < 0 || *a > schemas.MaxAge) {
			return nil, requestErr("age %d outside 0…%d", *a, schemas.MaxAge)
		}
	}
	st, err := wire.Statement(r)
	if err != nil {
		return nil, requestErr("%v", err)
	}
	// The privacy check, beyond the statement: the window must be the one
	// the predicates give on this today, or the verifier could narrow it.
	wantAfter, wantBefore := uint32(0), uint32(schemas.MaxDateCode)
	if r.Predicates.AgeOver != nil || r.Predicates.AgeUnder != nil {
		if wantAfter, wantBefore, err = schemas.AgeWindow(today, r.Predicates.AgeOver, r.Predicates.AgeUnder); err != nil {
			return nil, requestErr("predicates: %v", err)
		}
	}
	if st.BornAfter != wantAfter || st.BornBefore != wantBefore {
		return nil, requestErr("its birth-date window is not the one its predicates %s give (it would reveal more than it says)", r.Predicates)
	}
	return &zkRequest{req: r, statement: *st, today: today}, nil
}

// birthReason explains ErrBirthDate in the request's words.
func (z *zkRequest) birthReason(birth uint32) string {
	p := z.req.Predicates
	switch {
	case p.AgeOver != nil && birth > z.statement.BornBefore:
		return fmt.Sprintf("the holder is not %d or older", *p.AgeOver)
	case p.AgeUnder != nil && birth < z.statement.BornAfter:
		return fmt.Sprintf("the holder is not under %d", *p.AgeUnder)
	}
	return "the birth date is not in the requested window"
}

// reveal describes, in words for the holder, what answering r discloses
// to the platform and what it keeps back (Consent shows it).
func reveal(r *Request, platform string) string {
	var b strings.Builder
	if r.SDJWT != nil {
		fmt.Fprintf(&b, "The platform %s asks to SEE these claims in clear, from your credential:\n", platform)
		for _, c := range r.SDJWT.Claims {
			fmt.Fprintf(&b, "  - %s\n", c)
		}
		b.WriteString("It also learns that the credential is signed by the issuer and bound to this device (a key binding signature over its nonce).\n")
		b.WriteString("Nothing else is disclosed; an unused copy of the SD-JWT is shown, so this showing cannot be linked to an earlier one.\n")
		return b.String()
	}
	fmt.Fprintf(&b, "The platform %s asks for a zero-knowledge proof about your credential of %s.\n", platform, r.Issuer)
	b.WriteString("It will learn only that:\n")
	if r.Predicates.AgeOver != nil || r.Predicates.AgeUnder != nil {
		fmt.Fprintf(&b, "  - you are %s (on %s)\n", r.Predicates, r.Today)
	} else if r.BornAfter != nil || r.BornBefore != nil {
		fmt.Fprintf(&b, "  - your birth date is between %s and %s\n", orOpen(r.BornAfter), orOpen(r.BornBefore))
	}
	if r.MinLevel > 0 {
		fmt.Fprintf(&b, "  - your identity was verified at level %d or higher\n", r.MinLevel)
	}
	for _, f := range r.Flags {
		fmt.Fprintf(&b, "  - your credential carries the flag %s\n", f)
	}
	b.WriteString("  - the credential is valid today and not revoked\n")
	b.WriteString("  - a pseudonym for this platform: the same each time you answer " + platform + ", unrelated to the one any other platform sees\n")
	b.WriteString("It will not learn your name, birth date, 网号, region, document or serial.\n")
	return b.String()
}

func orOpen(v *string) string {
	if v == nil {
		return "(open)"
	}
	return *v
}

// acceptedEpochs returns the request's epochs, newest first.
func acceptedEpochs(r *Request) []uint64 {
	e := slices.Clone(r.Epochs)
	slices.Sort(e)
	slices.Reverse(e)
	return e
}
