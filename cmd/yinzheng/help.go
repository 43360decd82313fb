package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// subcommand is one subcommand of a top-level command, for help and
// shell completion.
type subcommand struct {
	name, summary string
}

// subcommandTable lists the subcommands of the commands that have them. The
// dispatcher answers `yinzheng CMD --help` from it, and `yinzheng completion`
// generates its scripts from it and from the subcommands' flag sets; a
// command missing here is treated as taking flags only.
var subcommandTable = map[string][]subcommand{
	"sdjwt": {
		{"issue", "issue an SD-JWT from a claims document"},
		{"present", "select disclosures, optionally with a key-binding JWT"},
		{"verify", "verify an SD-JWT presentation and print its claims"},
	},
	"circuits": {
		{"info", "constraints, public inputs and the circuit id"},
	},
	"revocation": {
		{"witness", "a serial's path in the accumulator (JSON)"},
		{"delta", "the delta of one epoch (JSON)"},
		{"bucket", "the 2^K leaves around a serial and the path above them (JSON)"},
	},
	"bench": {
		{"circuit", "time witness, proof and verification of the presentation circuit"},
		{"revocation", "time appends, revocations, path reads and publication"},
		{"verifier", "verifications per second: in process (one by one, batched), then over HTTP (1 and 3 replica processes on one Redis)"},
		{"issuance", "issuances per second through the OpenID4VCI HTTP flow of a loopback issuer service"},
		{"suite", "the standard sweeps: results.json, results.csv, plots and report.md (--quick, --out DIR)"},
		{"compare", "compare two results.json; exit 1 when a figure regressed beyond its noise band"},
	},
	"issuer": {
		{"init", "create an issuer directory (keys, 网号 secret, accumulator, circuit keys)"},
		{"enrol", "create a credential offer (link and tx_code) on the running issuer service"},
		{"issue", "enrol a subject and issue a bundle to a holder request"},
		{"revoke", "revoke a credential by serial"},
		{"publish", "sign and publish the current epoch's root and delta"},
		{"delete", "delete a person's record and revoke their credentials"},
	},
	"holder": {
		{"init", "create a wallet (--recover: restore it from a recovery phrase)"},
		{"request", "print a holder request for an issuer"},
		{"receive", "obtain a credential over OpenID4VCI 1.0 from an offer link"},
		{"list", "list the wallet's credentials"},
		{"import", "check a bundle against the issuer's publication and store it"},
		{"refresh", "bring every credential's witness up to the latest signed root"},
		{"trust", "pin the registrar root whose registered platforms the wallet answers"},
		{"prove", "answer a platform's zero-knowledge request (openid4vp:// URL or request object)"},
		{"present", "answer a platform's SD-JWT request with only the requested claims"},
		{"answer", "same-device flow: fetch, consent, prove or present, direct_post; prints redirect_uri"},
		{"serve", "keep the wallet open as a local agent on loopback (one unlock, warm prover)"},
	},
	"verifier": {
		{"trust", "pin an issuer's keys and circuit (shows the fingerprints first)"},
		{"request", "create a transaction: signed request object and openid4vp:// invocation (--platform PDIR)"},
		{"verify", "check a vp_token against its request object's recorded transaction"},
	},
	"registry": {
		{"init", "create a registrar directory (key, root certificate); prints the root's path"},
		{"register", "certify a platform: key, access certificate, registration (and --tls)"},
		{"revoke", "revoke a platform's registrations"},
		{"status", "re-sign the registration status list platforms staple"},
	},
	"serve": {
		{"issuer", "run the issuer HTTP service"},
		{"verifier", "run the verifier HTTP service"},
		{"wallet", "serve the browser wallet (page and WebAssembly engine), or --export its files"},
	},
	"ceremony": {
		{"init", "start phase 1 of the MPC ceremony for the presentation circuit"},
		{"contribute", "add one contribution with fresh randomness and print its hash"},
		{"next", "seal phase 1 with a public beacon and start phase 2"},
		{"finalize", "seal phase 2 with a public beacon and write the circuit keys"},
		{"verify", "check every contribution and both beacons from the files alone"},
	},
	"completion": {
		{"bash", "print the bash completion script"},
		{"zsh", "print the zsh completion script"},
	},
}

// isHelpArg reports whether a is one of the ways to ask for help.
func isHelpArg(a string) bool {
	return a == "-h" || a == "--help" || a == "-help" || a == "help"
}

// normalizeHelp rewrites every spelling of a help request into one form,
// `CMD [SUB] --help`, so that all of them print the same usage:
//
//	yinzheng help holder init   →  yinzheng holder init --help
//	yinzheng holder help init   →  yinzheng holder init --help
//	yinzheng holder init help   →  yinzheng holder init --help
//	yinzheng holder help        →  yinzheng holder --help
//
// The bare word "help" is only rewritten where no command takes a
// positional argument, so it cannot shadow a file or value named "help".
func normalizeHelp(args []string) []string {
	if len(args) > 0 && args[0] == "help" {
		if len(args) == 1 {
			return []string{"--help"}
		}
		return append(slices.Clone(args[1:]), "--help")
	}
	if len(args) < 2 {
		return args
	}
	subs, hasSubs := subcommandTable[args[0]]
	switch {
	case args[1] == "help" && len(args) == 2:
		return []string{args[0], "--help"}
	case args[1] == "help" && hasSubs:
		return append([]string{args[0]}, append(slices.Clone(args[2:]), "--help")...)
	case hasSubs && len(args) == 3 && args[2] == "help" && knownSub(subs, args[1]):
		return []string{args[0], args[1], "--help"}
	}
	return args
}

func knownSub(subs []subcommand, name string) bool {
	for _, s := range subs {
		if s.name == name {
			return true
		}
	}
	return false
}

// helpRequested reports whether args (after the command name) ask for help
// before any "--" that ends the flags.
func helpRequested(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}

// commandUsage prints the usage of a command that has subcommands.
func commandUsage(w io.Writer, name string, cmd command, subs []subcommand) {
	fmt.Fprintf(w, "usage: yinzheng %s <subcommand> [flags]\n\n%s\n\nsubcommands:\n", name, cmd.summary)
	width := 0
	for _, s := range subs {
		width = max(width, len(s.name))
	}
	for _, s := range subs {
		fmt.Fprintf(w, "  %-*s  %s\n", width, s.name, s.summary)
	}
	fmt.Fprintf(w, "\nRun \"yinzheng %s <subcommand> --help\" for its flags.\n", name)
}

// summaryOf returns the one-line summary of "cmd" or "cmd sub".
func summaryOf(name string) string {
	cmd, sub, ok := strings.Cut(name, " ")
	if !ok {
		return commands()[cmd].summary
	}
	for _, s := range subcommandTable[cmd] {
		if s.name == sub {
			return s.summary
		}
	}
	return ""
}

// flagUsage prints a flag set's usage: its synopsis, its summary and each
// flag with a readable placeholder. It replaces the flag package's default,
// which takes a placeholder from the first back-quoted word of the help text
// (so "(from `yinzheng issuer init`)" made "--dir yinzheng issuer init").
func flagUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "usage: yinzheng %s [flags]\n", fs.Name())
	if s := summaryOf(fs.Name()); s != "" {
		fmt.Fprintf(w, "\n%s\n", s)
	}
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	if len(flags) == 0 {
		return
	}
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	fmt.Fprintln(w, "\nflags:")
	for _, f := range flags {
		line := "  --" + f.Name
		if p := placeholder(f); p != "" {
			line += " " + p
		}
		fmt.Fprintln(w, line)
		usage := f.Usage
		if d := f.DefValue; !isZeroDefault(d) && !strings.Contains(usage, "(default") {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		fmt.Fprintf(w, "        %s\n", usage)
	}
}

// placeholder names the value a flag takes: nothing for a boolean; DIR,
// URL or HOST:PORT by name; FILE when its help mentions a file, a JWK or a
// JSON document; a back-quoted capitalised word of its help; N or DURATION
// by type; and otherwise the flag name's last word in capitals.
func placeholder(f *flag.Flag) string {
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return ""
	}
	name := f.Name
	last := name[strings.LastIndexByte(name, '-')+1:]
	switch {
	case last == "dir" || name == "keys":
		return "DIR"
	case last == "url" || name == "issuer":
		return "URL"
	case name == "addr":
		return "HOST:PORT"
	case strings.Contains(f.Usage, "file") || strings.Contains(f.Usage, "for stdin") ||
		strings.Contains(f.Usage, "JWK") || strings.Contains(f.Usage, "JSON"):
		return "FILE"
	case strings.Contains(f.Usage, "claim paths"):
		return "PATHS"
	}
	// The flag package's own convention, kept where it reads well: a
	// back-quoted capitalised word names the value ("at least `N`").
	if _, rest, ok := strings.Cut(f.Usage, "`"); ok {
		if word, _, ok := strings.Cut(rest, "`"); ok && word != "" && strings.ToUpper(word) == word && !strings.ContainsRune(word, ' ') {
			return word
		}
	}
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case int, int64, uint, uint64:
			return "N"
		case time.Duration:
			return "DURATION"
		}
	}
	return strings.ToUpper(last)
}

// isZeroDefault reports whether a flag's default is not worth printing.
func isZeroDefault(d string) bool {
	return d == "" || d == "0" || d == "false" || d == "0s"
}
