// Package crashtest holds the kill -9 crash suite of docs/durability.md: it
// builds the yinzheng binary, runs its commands and services as an
// operator would (issuance, revocation, publication, import, refresh,
// verification), kills them with SIGKILL at random moments, reopens the
// stores and checks that nothing acknowledged was lost, no serial was
// delivered twice, no epoch re-signed, no presentation accepted twice, no
// epoch left without its public files, and that nothing panicked.
//
// The package has no code of its own; the suite is its test. `make test`
// runs a short version; `make crash` runs 200 trials
// (YINZHENG_CRASH_TRIALS=200). YINZHENG_CRASH_SEED replays a run: the seed
// is printed at the start of each one.
package crashtest
