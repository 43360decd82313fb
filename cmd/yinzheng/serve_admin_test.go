package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/revocation"
)

// TestIssuerCommandsReachRunningService: while `serve issuer` holds the
// directory, the direct commands say so, and enrol, issue, revoke, publish
// and delete go through the admin API; a wallet receives an intl (ES256)
// credential from the offer link with `holder receive`.
func TestIssuerCommandsReachRunningService(t *testing.T) {
	if testing.Short() {
		t.Skip("sets up or copies the depth-32 circuit keys")
	}
	const pass = "admin test passphrase"
	t.Setenv("YINZHENG_PASSPHRASE", pass)
	dir := filepath.Join(t.TempDir(), "issuer")
	if code, _, errOut := runCLI(t, "", "issuer", "init", "--dir", dir, "--development-keys", "--suite", "intl"); code != 0 {
		t.Fatalf("init: %s", errOut)
	}
	if _, err := readAdminToken(adminTokenPath(dir)); err != nil {
		t.Fatalf("init wrote no admin token: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServe([]string{"issuer", "--dir", dir, "--addr", addr, "--public-url", base, "--epoch-interval", "1h"},
			strings.NewReader(""), &out, &errOut)
	}()
	defer func() {
		syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("SIGTERM did not stop the service")
		}
	}()
	for i := 0; !strings.Contains(out.String(), "listening on ") && i < 1000; i++ {
		time.Sleep(10 * time.Millisecond)
	}

	// The directory is held: the direct path says where to go.
	if err := runIssuer([]string{"revoke", "--dir", dir, "--serial", "0"}, strings.NewReader(""), new(strings.Builder), new(strings.Builder)); !errors.Is(err, revocation.ErrLocked) || !strings.Contains(err.Error(), "--server") {
		t.Fatalf("revoke --dir while served: %v, want ErrLocked pointing at --server", err)
	}
	remote := []string{"--server", base, "--dir", dir}
	subject := func(seq int) string {
		p := filepath.Join(t.TempDir(), "subject.json")
		os.WriteFile(p, fmt.Appendf(nil, `{"doc_type":"resident_id","doc_number":%q,"name":"王五","birth_date":"1985-02-03","region":"440305","level":2}`,
			cliResidentID("440305", "19850203", seq)), 0o600)
		return p
	}

	code, stdout, stderr := runCLI(t, "", append([]string{"issuer", "enrol", "--subject", subject(21)}, remote...)...)
	var e struct {
		OfferLink string `json:"offer_link"`
		TxCode    string `json:"tx_code"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &e) != nil || !strings.HasPrefix(e.OfferLink, "openid-credential-offer://?credential_offer_uri=") {
		t.Fatalf("enrol: %d %s %s", code, stdout, stderr)
	}
	if strings.ContainsAny(stderr, "█▀▄") {
		t.Fatalf("enrol without --qr drew a QR code:\n%s", stderr)
	}
	// --qr draws the link (another offer: each enrolment makes one).
	if code, _, qrErr := runCLI(t, "", append([]string{"issuer", "enrol", "--qr", "--subject", subject(22)}, remote...)...); code != 0 || strings.Count(qrErr, "\n") < 20 || !strings.ContainsAny(qrErr, "█▀▄") {
		t.Fatalf("enrol --qr: %d %s", code, qrErr)
	}
	wallet := filepath.Join(t.TempDir(), "wallet")
	if code, _, stderr := runCLI(t, "", "holder", "init", "--dir", wallet); code != 0 {
		t.Fatalf("holder init: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "", "holder", "receive", "--dir", wallet, "--offer", e.OfferLink, "--issuer-url", base, "--tx-code", "x"+e.TxCode); code != 1 || !strings.Contains(stderr, "invalid_grant") {
		t.Fatalf("receive with a wrong tx_code: %d %s", code, stderr)
	}
	code, stdout, stderr = runCLI(t, "", "holder", "receive", "--dir", wallet, "--offer", e.OfferLink, "--issuer-url", base, "--tx-code", e.TxCode)
	var info struct {
		Serial uint64 `json:"serial"`
		Copies int    `json:"sd_jwt_copies_left"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &info) != nil || info.Copies != 8 {
		t.Fatalf("receive: %d %s %s", code, stdout, stderr)
	}

	// A direct issuance through the service, for a 网号 to delete.
	req := filepath.Join(t.TempDir(), "req.json")
	code, stdout, stderr = runCLI(t, "", "holder", "request", "--dir", wallet, "--suite", "intl")
	if code != 0 || !strings.Contains(stdout, `"crv": "P-256"`) {
		t.Fatalf("holder request --suite intl: %d %s %s", code, stdout, stderr)
	}
	os.WriteFile(req, []byte(stdout), 0o600)
	code, stdout, stderr = runCLI(t, "", append([]string{"issuer", "issue", "--subject", subject(22), "--holder", req}, remote...)...)
	var bundle struct {
		Serial  uint64 `json:"serial"`
		Wanghao string `json:"wanghao"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &bundle) != nil || bundle.Serial != info.Serial+1 {
		t.Fatalf("issue --server: %d %s %s", code, stdout, stderr)
	}

	if code, stdout, stderr := runCLI(t, "", append([]string{"issuer", "revoke", "--serial", fmt.Sprint(info.Serial)}, remote...)...); code != 0 || !strings.Contains(stdout, "revoked") {
		t.Fatalf("revoke --server: %d %s %s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "", append([]string{"issuer", "revoke", "--serial", "999"}, remote...)...); code != 1 || !strings.Contains(stderr, "never issued") {
		t.Fatalf("revoke --server of an unknown serial: %d %s", code, stderr)
	}
	if code, stdout, stderr := runCLI(t, "", append([]string{"issuer", "delete", "--wanghao", bundle.Wanghao}, remote...)...); code != 0 || !strings.Contains(stdout, "next_epoch") {
		t.Fatalf("delete --server: %d %s %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "", append([]string{"issuer", "publish"}, remote...)...)
	var pub struct {
		Epoch     uint64 `json:"epoch"`
		LeafCount uint64 `json:"leaf_count"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &pub) != nil || pub.Epoch < 2 || pub.LeafCount != bundle.Serial+1 {
		t.Fatalf("publish --server: %d %s %s", code, stdout, stderr)
	}
	// A wrong admin token is refused.
	bad := filepath.Join(t.TempDir(), "bad-token")
	os.WriteFile(bad, []byte("not-the-admin-token-at-all\n"), 0o600)
	if code, _, stderr := runCLI(t, "", "issuer", "publish", "--server", base, "--admin-token", bad); code != 1 || !strings.Contains(stderr, "401") {
		t.Fatalf("publish with a wrong token: %d %s", code, stderr)
	}
}

// TestBenchIssuance: the benchmark runs the whole flow and prints its figure.
func TestBenchIssuance(t *testing.T) {
	if testing.Short() {
		t.Skip("sets up or copies the depth-32 circuit keys")
	}
	code, out, errOut := runCLI(t, "", "bench", "issuance", "--n", "3", "--concurrency", "2", "--json")
	var r IssuanceReport
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Issuances != 3 || r.PerSecond <= 0 || r.Copies != 8 {
		t.Fatalf("bench issuance: %d %s %s", code, out, errOut)
	}
}
