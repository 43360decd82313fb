package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// adminTokenFile is where `issuer init` writes the admin token of the
// issuer service, inside the directory's private part (DIR/private/…).
const adminTokenFile = "admin-token"

// adminTokenPath is DIR/private/admin-token.
func adminTokenPath(dir string) string { return filepath.Join(dir, "private", adminTokenFile) }

// writeAdminToken creates a fresh random admin token file (mode 0600).
func writeAdminToken(path string) error {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	_, err = f.WriteString(base64.RawURLEncoding.EncodeToString(raw[:]) + "\n")
	if err2 := f.Close(); err == nil {
		err = err2
	}
	return err
}

// readAdminToken reads a token file; its one line is the token.
func readAdminToken(path string) ([]byte, error) {
	if path == "-" {
		return nil, fmt.Errorf("admin token: give a file, not stdin")
	}
	data, err := readInput(path, nil)
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	tok := bytes.TrimSpace(data)
	if len(tok) < 16 || bytes.ContainsAny(tok, " \t\r\n") {
		return nil, fmt.Errorf("admin token %s: want one line of at least 16 characters", path)
	}
	return tok, nil
}

// remote is an issuer service reached through its admin API.
type remote struct {
	base  string
	token []byte
	http  *http.Client
}

// remoteFlags are the flags that send an issuer command to a running
// service instead of opening the directory.
type remoteFlags struct {
	server, tokenFile *string
}

func (r *remoteFlags) register(fs interface {
	String(string, string, string) *string
}) {
	r.server = fs.String("server", "", "send the command to the running issuer service at this URL (its admin API) instead of opening --dir")
	r.tokenFile = fs.String("admin-token", "", "file holding the service's admin token (default with --dir: DIR/private/admin-token)")
}

// client returns the remote to use, or nil when the command should open
// the directory itself.
func (r *remoteFlags) client(dir string) (*remote, error) {
	if *r.server == "" {
		if *r.tokenFile != "" {
			return nil, usageError("--admin-token goes with --server")
		}
		return nil, nil
	}
	if err := publication.CheckURL(*r.server); err != nil {
		return nil, usageError("--server: %v", err)
	}
	path := *r.tokenFile
	if path == "" && dir != "" {
		path = adminTokenPath(dir)
	}
	if path == "" {
		return nil, usageError("--server needs --admin-token FILE (or --dir DIR, whose private/admin-token is used)")
	}
	tok, err := readAdminToken(path)
	if err != nil {
		return nil, err
	}
	return &remote{base: strings.TrimRight(*r.server, "/"), token: tok, http: &http.Client{Timeout: 5 * time.Minute}}, nil
}

// call posts body to the admin route and decodes the answer into out.
func (c *remote) call(route string, body []byte, out any) error {
	req, err := http.NewRequest(http.MethodPost, c.base+route, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+string(c.token))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("issuer service: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxInputBytes))
	if err != nil {
		return fmt.Errorf("issuer service: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("issuer service (HTTP %d): %s", resp.StatusCode, e.Error)
		}
		return fmt.Errorf("issuer service: HTTP %d from %s", resp.StatusCode, route)
	}
	return json.Unmarshal(data, out)
}

// errServiceHoldsDir explains a locked issuer directory.
func serviceHoldsDir(dir string, err error) error {
	if errors.Is(err, revocation.ErrLocked) {
		return fmt.Errorf("%w\nthe issuer service (serve issuer) holds %s: send the command to it with --server URL (the admin token is read from %s, or give --admin-token FILE)",
			err, dir, adminTokenPath(dir))
	}
	return err
}
