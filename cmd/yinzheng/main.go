// Command yinzheng is the single command-line tool of Yinzheng: key
// generation, SD-JWT issuance and verification, the zero-knowledge circuit,
// the revocation accumulator, the roles (issuer, holder, verifier), the HTTP
// services, the demo and the benchmarks.
//
// Every subcommand prints its result on stdout. On failure it prints one line
// naming the problem on stderr and exits with status 1 (2 for usage errors).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/consensys/gnark/logger"

	"github.com/yinzheng-id/yinzheng/bench"
)

// command is one top-level subcommand.
type command struct {
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// commands lists the top-level subcommands. Each lives in its own file.
func commands() map[string]command {
	return map[string]command{
		"keygen":     {"generate a private JWK, or print the public half of one", runKeygen},
		"sdjwt":      {"issue, present and verify SD-JWTs (issue | present | verify)", runSDJWT},
		"circuits":   {"facts about the presentation circuit (info)", runCircuits},
		"ceremony":   {"the multi-party setup of the circuit keys (init | contribute | next | finalize | verify)", runCeremony},
		"revocation": {"read the revocation accumulator (witness | delta | bucket)", runRevocation},
		"bench":      {"benchmarks that print JSON figures (circuit | revocation | verifier | suite | compare)", runBench},
		"demo":       {"run the end-to-end demonstration in a temporary directory", runDemo},
		"issuer":     {"enrol, issue, revoke, publish, delete (init | issue | revoke | publish | delete)", runIssuer},
		"holder":     {"the wallet (init | request | import | refresh | prove | present)", runHolder},
		"verifier":   {"pin an issuer, ask for and check presentations (trust | request | verify)", runVerifier},
		"serve":      {"run the issuer or verifier HTTP service (issuer | verifier)", runServe},
		"registry":   {"the registrar: certify platforms and what they may ask (init | register | revoke | status)", runRegistry},
		"version":    {"print the build: version, commit, commit date, Go, gnark and gnark-crypto", runVersion},
		"completion": {"print a shell completion script (bash | zsh)", runCompletion},
	}
}

// errUsage marks an error caused by how the command was called.
var errUsage = errors.New("usage")

func main() {
	// gnark logs compilation progress on stdout by default; stdout carries
	// this command's results, so its logger stays silent.
	logger.Disable()
	// A child process of `bench verifier` serving as one replica of the
	// HTTP benchmark (bench.ReplicaEnv set by its parent); not a command.
	bench.MaybeServeReplica()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmds := commands()
	// Every spelling of a help request becomes `[CMD [SUB]] --help`, and
	// help that was asked for goes to stdout with status 0 (help.go).
	args = normalizeHelp(args)
	if len(args) == 0 {
		usage(stderr, cmds)
		return 2
	}
	if isHelpArg(args[0]) {
		usage(stdout, cmds)
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "yinzheng: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	if subs, ok := subcommandTable[args[0]]; ok && (len(args) == 1 || isHelpArg(args[1])) {
		if len(args) == 1 {
			commandUsage(stderr, args[0], cmd, subs)
			return 2
		}
		commandUsage(stdout, args[0], cmd, subs)
		return 0
	}
	if helpRequested(args[1:]) {
		// The flag set prints its usage on what the command calls stderr.
		stderr = stdout
	}
	if err := cmd.run(args[1:], stdin, stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		// Package errors carry their package's prefix ("sdjwt: …"); when it
		// repeats the command's name, say it once.
		msg := strings.TrimPrefix(err.Error(), args[0]+": ")
		fmt.Fprintf(stderr, "yinzheng %s: %s\n", args[0], msg)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: yinzheng <command> [arguments]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun \"yinzheng <command> --help\" (or \"yinzheng help <command>\") for its usage.")
}

// usageError wraps a message as a usage error.
func usageError(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { flagUsage(fs) }
	return fs
}

// parseFlags parses args and refuses stray positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// readInput reads a file, or stdin when name is "-".
func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(stdin, maxInputBytes))
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxInputBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInputBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxInputBytes)
	}
	return data, nil
}

// maxInputBytes bounds every file the CLI reads.
const maxInputBytes = 16 << 20
