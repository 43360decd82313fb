package schemas

import "fmt"

// Bit layout of the packed predicate word, least significant bit first. The
// circuit decomposes the word into exactly PackedBits bits, so any bit above
// them makes a witness fail.
const (
	// BirthShift is the position of the birth date code.
	BirthShift = 0
	// ExpiryShift is the position of the expiry date code.
	ExpiryShift = BirthShift + DateBits
	// LevelShift is the position of the verification level.
	LevelShift = ExpiryShift + DateBits
	// LevelBits is the width of the verification level.
	LevelBits = 3
	// FlagsShift is the position of the first flag.
	FlagsShift = LevelShift + LevelBits
	// FlagBits is the number of flags.
	FlagBits = 2
	// PackedBits is the width of the packed predicate word.
	PackedBits = FlagsShift + FlagBits
)

// Flags, as bits of Predicates.Flags and of a request's required flags.
const (
	// FlagGuardianConsent: a guardian consented to the credential (Art. 4
	// and 5, holders under 14).
	FlagGuardianConsent = 1 << 0
	// FlagGuardianAcknowledgement: the holder applied under a guardian's
	// supervision (Art. 4, holders aged 14 to 17).
	FlagGuardianAcknowledgement = 1 << 1
)

// Verification levels (1: document data checked; 2: plus document chip
// read; 3: plus live face match; 4: plus in-person check).
const (
	// MinLevel is the lowest verification level.
	MinLevel = 1
	// MaxLevel is the highest verification level.
	MaxLevel = 4
)

// Predicates are the attributes the circuit compares, unpacked.
type Predicates struct {
	Birth  uint32 // birth date code
	Expiry uint32 // expiry date code
	Level  uint8  // verification level, MinLevel to MaxLevel
	Flags  uint8  // FlagGuardianConsent | FlagGuardianAcknowledgement
}

// Pack returns the packed predicate word of p:
// birth | expiry<<ExpiryShift | level<<LevelShift | flags<<FlagsShift.
func Pack(p Predicates) (uint64, error) {
	if p.Birth > MaxDateCode {
		return 0, fmt.Errorf("birth date code %d exceeds %d", p.Birth, MaxDateCode)
	}
	if p.Expiry > MaxDateCode {
		return 0, fmt.Errorf("expiry date code %d exceeds %d", p.Expiry, MaxDateCode)
	}
	if p.Level < MinLevel || p.Level > MaxLevel {
		return 0, fmt.Errorf("verification level %d outside %d to %d", p.Level, MinLevel, MaxLevel)
	}
	if p.Flags >= 1<<FlagBits {
		return 0, fmt.Errorf("flags %#x set bits beyond the %d defined flags", p.Flags, FlagBits)
	}
	return uint64(p.Birth)<<BirthShift |
		uint64(p.Expiry)<<ExpiryShift |
		uint64(p.Level)<<LevelShift |
		uint64(p.Flags)<<FlagsShift, nil
}

// Unpack splits a packed predicate word. It refuses words with bits at or
// above PackedBits and levels outside MinLevel to MaxLevel.
func Unpack(word uint64) (Predicates, error) {
	if word>>PackedBits != 0 {
		return Predicates{}, fmt.Errorf("packed word %#x has bits at or above bit %d", word, PackedBits)
	}
	field := func(shift, width int) uint64 { return word >> shift & (1<<width - 1) }
	p := Predicates{
		Birth:  uint32(field(BirthShift, DateBits)),
		Expiry: uint32(field(ExpiryShift, DateBits)),
		Level:  uint8(field(LevelShift, LevelBits)),
		Flags:  uint8(field(FlagsShift, FlagBits)),
	}
	if p.Level < MinLevel || p.Level > MaxLevel {
		return Predicates{}, fmt.Errorf("packed word %#x has verification level %d, outside %d to %d", word, p.Level, MinLevel, MaxLevel)
	}
	return p, nil
}
