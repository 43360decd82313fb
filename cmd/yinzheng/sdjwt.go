package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/sdjwt"
)

// runSDJWT dispatches `yinzheng sdjwt issue | present | verify`.
func runSDJWT(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("sdjwt needs a subcommand: issue | present | verify")
	}
	switch args[0] {
	case "issue":
		return runSDJWTIssue(args[1:], stdin, stdout, stderr)
	case "present":
		return runSDJWTPresent(args[1:], stdin, stdout, stderr)
	case "verify":
		return runSDJWTVerify(args[1:], stdin, stdout, stderr)
	default:
		return usageError("unknown sdjwt subcommand %q (want issue | present | verify)", args[0])
	}
}

// argument reads a flag value that is inline JSON (it starts with '[' or
// '{'), "-" for stdin, or a file name.
func argument(flagName, value string, stdin io.Reader) ([]byte, error) {
	if value == "" {
		return nil, usageError("--%s is required", flagName)
	}
	if t := strings.TrimSpace(value); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
		return []byte(t), nil
	}
	data, err := readInput(value, stdin)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagName, err)
	}
	return data, nil
}

func runSDJWTIssue(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("sdjwt issue", stderr)
	keyArg := fs.String("key", "", "issuer private JWK (file, - for stdin, or inline JSON); the suite follows from it")
	claimsArg := fs.String("claims", "", "claims as a JSON object (file, -, or inline)")
	sdArg := fs.String("sd", "", `claim paths to make selectively disclosable, e.g. [["address","street"],["nationalities",1]]`)
	holderArg := fs.String("holder-key", "", "holder public JWK to bind (cnf.jwk)")
	decoys := fs.Int("decoys", 0, "decoy digests per object with selectively disclosable claims")
	iss := fs.String("iss", "", "issuer identifier (iss)")
	vct := fs.String("vct", "", "credential type (vct)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	keyJSON, err := argument("key", *keyArg, stdin)
	if err != nil {
		return err
	}
	key, err := jose.ParsePrivateJWK(keyJSON)
	if err != nil {
		return fmt.Errorf("--key: %w", err)
	}
	claimsJSON, err := argument("claims", *claimsArg, stdin)
	if err != nil {
		return err
	}
	v, err := sdjwt.DecodeJSON(claimsJSON)
	if err != nil {
		return fmt.Errorf("--claims: %w", err)
	}
	claims, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("--claims: not a JSON object")
	}
	sdJSON, err := argument("sd", *sdArg, stdin)
	if err != nil {
		return err
	}
	paths, err := sdjwt.ParseClaimPaths(sdJSON)
	if err != nil {
		return fmt.Errorf("--sd: %w", err)
	}
	opts := sdjwt.IssueOptions{Disclosable: paths, Decoys: *decoys, Issuer: *iss, VCT: *vct}
	if *holderArg != "" {
		holderJSON, err := argument("holder-key", *holderArg, stdin)
		if err != nil {
			return err
		}
		if opts.HolderKey, err = jose.ParsePublicJWK(holderJSON); err != nil {
			return fmt.Errorf("--holder-key: %w", err)
		}
	}
	sd, err := sdjwt.Issue(key, claims, opts)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, sd.Compact())
	return err
}

func runSDJWTPresent(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("sdjwt present", stderr)
	sdArg := fs.String("sd-jwt", "", "the SD-JWT as issued (file or -)")
	discloseArg := fs.String("disclose", "", `claim paths to disclose, e.g. [["address","street"]]`)
	holderArg := fs.String("holder-key", "", "holder private JWK: adds a Key Binding JWT")
	aud := fs.String("aud", "", "verifier identifier for the Key Binding JWT")
	nonce := fs.String("nonce", "", "verifier nonce for the Key Binding JWT")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *holderArg != "" && (*aud == "" || *nonce == "") {
		return usageError("--holder-key needs --aud and --nonce")
	}
	if *holderArg == "" && (*aud != "" || *nonce != "") {
		return usageError("--aud and --nonce need --holder-key")
	}
	if *sdArg == "" {
		return usageError("--sd-jwt is required")
	}
	raw, err := readInput(*sdArg, stdin)
	if err != nil {
		return fmt.Errorf("--sd-jwt: %w", err)
	}
	sd, err := sdjwt.Parse(raw)
	if err != nil {
		return err
	}
	discloseJSON, err := argument("disclose", *discloseArg, stdin)
	if err != nil {
		return err
	}
	paths, err := sdjwt.ParseClaimPaths(discloseJSON)
	if err != nil {
		return fmt.Errorf("--disclose: %w", err)
	}
	var opts sdjwt.PresentOptions
	if *holderArg != "" {
		holderJSON, err := argument("holder-key", *holderArg, stdin)
		if err != nil {
			return err
		}
		if opts.HolderKey, err = jose.ParsePrivateJWK(holderJSON); err != nil {
			return fmt.Errorf("--holder-key: %w", err)
		}
		opts.Audience, opts.Nonce = *aud, *nonce
	}
	pres, err := sdjwt.Present(sd, paths, opts)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, pres.Compact())
	return err
}

func runSDJWTVerify(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("sdjwt verify", stderr)
	keyArg := fs.String("issuer-key", "", "issuer public JWK (file, -, or inline JSON)")
	presArg := fs.String("presentation", "", "the presentation, compact or JSON serialization (file or -)")
	aud := fs.String("aud", "", "expected Key Binding JWT audience")
	nonce := fs.String("nonce", "", "expected Key Binding JWT nonce")
	requireKB := fs.Bool("require-kb", false, "refuse presentations without a Key Binding JWT")
	typ := fs.String("typ", "", "require this typ of the issuer-signed JWT (dc+sd-jwt for the SD-JWT VC profile); default: any RFC 9901 SD-JWT, with or without typ")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *requireKB && (*aud == "" || *nonce == "") {
		return usageError("--require-kb needs --aud and --nonce")
	}
	keyJSON, err := argument("issuer-key", *keyArg, stdin)
	if err != nil {
		return err
	}
	key, err := jose.ParsePublicJWK(keyJSON)
	if err != nil {
		return fmt.Errorf("--issuer-key: %w", err)
	}
	if *presArg == "" {
		return usageError("--presentation is required")
	}
	raw, err := readInput(*presArg, stdin)
	if err != nil {
		return fmt.Errorf("--presentation: %w", err)
	}
	v := &sdjwt.Verifier{IssuerKey: key, Audience: *aud, Nonce: *nonce, RequireKeyBinding: *requireKB}
	if *typ == "" {
		v.AnyType = true
	} else {
		v.Types = []string{*typ}
	}
	res, err := v.Verify(bytes.TrimSpace(raw))
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(res.Claims)
}
