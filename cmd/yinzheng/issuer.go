package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/bench"
	"github.com/yinzheng-id/yinzheng/circuits"
	"github.com/yinzheng-id/yinzheng/circuits/zkhash"
	"github.com/yinzheng-id/yinzheng/internal/passphrase"
	"github.com/yinzheng-id/yinzheng/issuer"
	issuerapi "github.com/yinzheng-id/yinzheng/issuer/httpapi"
	"github.com/yinzheng-id/yinzheng/jose"
)

const issuerUsage = `usage: yinzheng issuer <subcommand> [flags]

  init    --dir DIR (--circuit-keys KEYDIR [--without-transcript] | --development-keys) [--suite gm|intl] [--issuer URL]
  enrol   --server URL [--admin-token FILE] --subject SUBJECT_JSON   (prints the offer link and the tx_code)
  issue   --dir DIR --subject SUBJECT_JSON --holder HOLDER_REQUEST_JSON   (prints the pending bundle)
  revoke  --dir DIR --serial N[,N…] | --serials FILE
  publish --dir DIR   (one epoch with every change since the last; ` + "`serve issuer`" + ` publishes on a schedule)
  delete  --dir DIR --wanghao ID

issue, revoke, publish and delete take --server URL [--admin-token FILE] instead
of (or beside) --dir to go through a running ` + "`serve issuer`" + `, which holds the directory:
the admin token is DIR/private/admin-token, written by init.

init installs ceremony circuit keys (--circuit-keys: checked against this circuit
and depth, refused if they are development keys, the transcript verified when
KEYDIR holds transcript.bin) or, for tests and demos only, development keys
(--development-keys: anyone can forge proofs under them).

"-" reads a file from stdin. The passphrase comes from YINZHENG_PASSPHRASE,
or is read as the first line of stdin after a prompt.`

// runIssuer runs `yinzheng issuer …`: the issuer's directory, enrolment and
// issuance, revocation, publication and deletion.
func runIssuer(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, issuerUsage)
		return usageError("issuer: missing subcommand")
	}
	switch args[0] {
	case "init":
		return issuerInit(args[1:], stdin, stdout, stderr)
	case "enrol":
		return issuerEnrol(args[1:], stdin, stdout, stderr)
	case "issue":
		return issuerIssue(args[1:], stdin, stdout, stderr)
	case "revoke":
		return issuerRevoke(args[1:], stdin, stdout, stderr)
	case "publish":
		return issuerPublish(args[1:], stdin, stdout, stderr)
	case "delete":
		return issuerDelete(args[1:], stdin, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, issuerUsage)
		return nil
	default:
		fmt.Fprintln(stderr, issuerUsage)
		return usageError("issuer: unknown subcommand %q", args[0])
	}
}

func issuerInit(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("issuer init", stderr)
	dir := fs.String("dir", "", "issuer directory to create (must be missing or empty)")
	suite := fs.String("suite", "gm", "signature suite: gm (SM2) or intl (ES256)")
	iss := fs.String("issuer", issuer.DefaultIssuer, "issuer identifier (https URL)")
	ceremonyKeys := fs.String("circuit-keys", "", "directory of the ceremony circuit keys (manifest.json, verifying.key, proving.key, transcript.bin)")
	noTranscript := fs.Bool("without-transcript", false, "accept --circuit-keys that come without the ceremony's transcript.bin (verifiers must then pin the circuit id given out of band)")
	devKeys := fs.Bool("development-keys", false, "install development circuit keys (public setup randomness: anyone can forge proofs; tests and demos only)")
	statusEntries := fs.Uint64("status-list-entries", issuer.DefaultStatusListEntries, "size of the SD-JWT copies' status list, fixed for the directory's life: every copy ever signed takes an entry (credentials × copies), a multiple of 8")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usageError("issuer init: --dir is required")
	}
	if *suite != string(jose.SuiteGM) && *suite != string(jose.SuiteIntl) {
		return usageError("issuer init: --suite must be gm or intl, not %q", *suite)
	}
	switch {
	case *ceremonyKeys == "" && !*devKeys:
		return usageError("issuer init: give --circuit-keys KEYDIR (the ceremony's keys) or, for tests and demos only, --development-keys")
	case *ceremonyKeys != "" && *devKeys:
		return usageError("issuer init: --circuit-keys and --development-keys exclude each other")
	case *noTranscript && *ceremonyKeys == "":
		return usageError("issuer init: --without-transcript goes with --circuit-keys")
	}
	// Development keys come from (and are set up once into) the shared cache.
	keysDir, err := bench.DefaultKeysDir(circuits.ProductionDepth)
	if err != nil {
		return err
	}
	pass, err := passphrase.Get("New issuer passphrase", stdin, stderr, true)
	if err != nil {
		return err
	}
	start := time.Now()
	err = issuer.Init(*dir, pass, issuer.Options{
		Issuer:             *iss,
		Suite:              jose.Suite(*suite),
		CircuitKeys:        *ceremonyKeys,
		WithoutTranscript:  *noTranscript,
		DevelopmentKeys:    *devKeys,
		DevelopmentKeysDir: keysDir,
		StatusListEntries:  *statusEntries,
		Progress: func(stage string) {
			fmt.Fprintf(stderr, "[%6.1fs] circuit keys: %s\n", time.Since(start).Seconds(), stage)
		},
	})
	if err != nil {
		return err
	}
	if err := writeAdminToken(adminTokenPath(*dir)); err != nil {
		return err
	}
	i, err := issuer.Open(*dir, pass)
	if err != nil {
		return err
	}
	defer i.Close()
	fmt.Fprintf(stderr, "[%6.1fs] issuer directory ready: %s (publish at least daily: the status list expires after 24 h)\n", time.Since(start).Seconds(), *dir)
	if *devKeys {
		fmt.Fprintln(stderr, "WARNING: development circuit keys: anyone can forge proofs under them; not for production")
	}
	return writeJSON(stdout, i.Metadata())
}

// openIssuer opens an issuer directory with the passphrase.
func openIssuer(dir string, stdin io.Reader, stderr io.Writer) (*issuer.Issuer, error) {
	pass, err := passphrase.Get("Issuer passphrase", stdin, stderr, false)
	if err != nil {
		return nil, err
	}
	i, err := issuer.Open(dir, pass)
	return i, serviceHoldsDir(dir, err)
}

func issuerIssue(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("issuer issue", stderr)
	dir := fs.String("dir", "", "issuer directory")
	subjectFile := fs.String("subject", "", "enrolment record (subject JSON), - for stdin")
	holderFile := fs.String("holder", "", "holder request JSON (from `holder request`), - for stdin")
	var rf remoteFlags
	rf.register(fs)
	replaceDevice := fs.Bool("replace-device", false, "the person lost the device and the recovery phrase: accept a holder commitment other than the one on record (the earlier credential is revoked; logged as replace-device)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rc, err := rf.client(*dir)
	if err != nil {
		return err
	}
	switch {
	case *dir == "" && rc == nil:
		return usageError("issuer issue: --dir is required (or --server URL)")
	case *subjectFile == "":
		return usageError("issuer issue: --subject is required")
	case *holderFile == "":
		return usageError("issuer issue: --holder is required")
	case *subjectFile == "-" && *holderFile == "-":
		return usageError("issuer issue: --subject and --holder cannot both be stdin")
	case rc != nil && *replaceDevice:
		// A device replacement is an operator's decision taken on the
		// issuer's own directory, not through the admin API.
		return usageError("issuer issue: --replace-device works on --dir only, not through --server (stop the service or run it on the issuer's machine)")
	}
	if rc != nil {
		subject, err := readInput(*subjectFile, stdin)
		if err != nil {
			return fmt.Errorf("subject: %w", err)
		}
		holderReq, err := readInput(*holderFile, stdin)
		if err != nil {
			return fmt.Errorf("holder request: %w", err)
		}
		body, err := json.Marshal(map[string]json.RawMessage{"subject": subject, "holder_request": holderReq})
		if err != nil {
			return fmt.Errorf("subject or holder request: %w", err)
		}
		var b json.RawMessage
		if err := rc.call("/admin/issue", body, &b); err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	// The passphrase comes first: when it is prompted for, it is the first
	// line of stdin and a "-" document follows it.
	i, err := openIssuer(*dir, stdin, stderr)
	if err != nil {
		return err
	}
	defer i.Close()
	data, err := readInput(*subjectFile, stdin)
	if err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	subject, err := issuer.ParseSubject(data)
	if err != nil {
		return err
	}
	if data, err = readInput(*holderFile, stdin); err != nil {
		return fmt.Errorf("holder request: %w", err)
	}
	req, err := issuer.ParseHolderRequest(data)
	if err != nil {
		return err
	}
	b, err := i.IssueWithOptions(subject, req, issuer.IssueOptions{ReplaceDevice: *replaceDevice})
	if errors.Is(err, issuer.ErrDeviceChanged) {
		return fmt.Errorf("%w\n(a person has one live credential: a restored wallet keeps its commitment; if the person lost the device and the recovery phrase, confirm with --replace-device)", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "issued serial %d to 网号 %s; the bundle is pending until epoch %d is published (`issuer publish`), then the holder runs `holder refresh`\n", b.Serial, b.Wanghao, b.Path.Epoch)
	return writeJSON(stdout, b)
}

func issuerRevoke(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("issuer revoke", stderr)
	dir := fs.String("dir", "", "issuer directory")
	serialList := fs.String("serial", "", "serial(s) of the credentials to revoke: N or N,N,…")
	serialsFile := fs.String("serials", "", "file of serials to revoke, one per line (- for stdin, after the passphrase)")
	var rf remoteFlags
	rf.register(fs)
	err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	rc, err := rf.client(*dir)
	if err != nil {
		return err
	}
	if *dir == "" && rc == nil {
		return usageError("issuer revoke: --dir is required (or --server URL)")
	}
	if *serialList == "" && *serialsFile == "" {
		return usageError("issuer revoke: --serial N is required (or --serial N,N,… or --serials FILE)")
	}
	var serials []uint64
	if *serialList != "" {
		if serials, err = parseSerials(strings.Split(*serialList, ",")); err != nil {
			return err
		}
	}
	var i *issuer.Issuer
	if rc == nil {
		if i, err = openIssuer(*dir, stdin, stderr); err != nil {
			return err
		}
		defer i.Close()
	}
	if *serialsFile != "" {
		data, err := readInput(*serialsFile, stdin)
		if err != nil {
			return fmt.Errorf("serials: %w", err)
		}
		more, err := parseSerials(strings.Fields(string(data)))
		if err != nil {
			return err
		}
		serials = append(serials, more...)
	}
	// One call: the status list is signed once for all of them.
	if rc != nil {
		body, _ := json.Marshal(map[string]any{"serials": serials})
		var res json.RawMessage
		if err := rc.call("/admin/revoke", body, &res); err != nil {
			return err
		}
	} else if err := i.Revoke(serials...); err != nil {
		return err
	}
	if len(serials) == 1 {
		fmt.Fprintf(stderr, "revoked serial %d in the status list; ZK proofs see it after `issuer publish`\n", serials[0])
		return writeJSON(stdout, map[string]any{"serial": serials[0], "status": "revoked"})
	}
	fmt.Fprintf(stderr, "revoked %d serials in the status list; ZK proofs see them after `issuer publish`\n", len(serials))
	return writeJSON(stdout, map[string]any{"serials": serials, "status": "revoked"})
}

// parseSerials reads decimal serials.
func parseSerials(fields []string) ([]uint64, error) {
	out := make([]uint64, 0, len(fields))
	for _, f := range fields {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, usageError("issuer revoke: %q is not a serial (a number >= 0)", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func issuerPublish(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("issuer publish", stderr)
	dir := fs.String("dir", "", "issuer directory")
	var rf remoteFlags
	rf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rc, err := rf.client(*dir)
	if err != nil {
		return err
	}
	if rc != nil {
		var res map[string]any
		if err := rc.call("/admin/publish", []byte("{}"), &res); err != nil {
			return err
		}
		return writeJSON(stdout, res)
	}
	if *dir == "" {
		return usageError("issuer publish: --dir is required (or --server URL)")
	}
	i, err := openIssuer(*dir, stdin, stderr)
	if err != nil {
		return err
	}
	defer i.Close()
	e, err := i.Publish()
	if err != nil {
		return err
	}
	return writeJSON(stdout, map[string]any{"epoch": e.Epoch, "root": zkhash.FormatElement(e.Root), "leaf_count": e.LeafCount})
}

func issuerDelete(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("issuer delete", stderr)
	dir := fs.String("dir", "", "issuer directory")
	wanghao := fs.String("wanghao", "", "网号 of the person whose data to delete")
	var rf remoteFlags
	rf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rc, err := rf.client(*dir)
	if err != nil {
		return err
	}
	if *dir == "" && rc == nil {
		return usageError("issuer delete: --dir is required (or --server URL)")
	}
	if *wanghao == "" {
		return usageError("issuer delete: --wanghao is required")
	}
	if rc != nil {
		body, _ := json.Marshal(map[string]string{"wanghao": *wanghao})
		var res issuer.DeleteResult
		if err := rc.call("/admin/delete", body, &res); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "deleted the person's record and revoked serials %v in the status list; the accumulator drops them in epoch %d\n", res.Revoked, res.NextEpoch)
		return writeJSON(stdout, res)
	}
	i, err := openIssuer(*dir, stdin, stderr)
	if err != nil {
		return err
	}
	defer i.Close()
	res, err := i.Delete(*wanghao)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "deleted the person's record and revoked serials %v in the status list; the accumulator drops them in epoch %d, at the next `issuer publish`\n", res.Revoked, res.NextEpoch)
	return writeJSON(stdout, res)
}

func issuerEnrol(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("issuer enrol", stderr)
	dir := fs.String("dir", "", "issuer directory (for its private/admin-token)")
	subjectFile := fs.String("subject", "", "enrolment record (subject JSON), - for stdin")
	qr := fs.Bool("qr", false, "also draw the offer link as a QR code on stderr (never the transaction code)")
	var rf remoteFlags
	rf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rc, err := rf.client(*dir)
	if err != nil {
		return err
	}
	switch {
	case rc == nil:
		return usageError("issuer enrol: --server URL is required (offers live in the running service)")
	case *subjectFile == "":
		return usageError("issuer enrol: --subject is required")
	}
	subject, err := readInput(*subjectFile, stdin)
	if err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	var e issuerapi.Enrolment
	if err := rc.call("/admin/offers", subject, &e); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "offer for the person's wallet (valid %ds):\n  %s\ntransaction code to give them in person or by another channel, never with the link: %s\n",
		e.ExpiresIn, e.OfferLink, e.TxCode)
	if *qr {
		// The link only: the transaction code goes by another channel, so
		// a photo of the screen is not enough to collect the credential.
		if err := writeQR(stderr, e.OfferLink); err != nil {
			return err
		}
	}
	return writeJSON(stdout, e)
}
