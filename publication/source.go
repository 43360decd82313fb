package publication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultTimeout bounds one HTTPSource request when the client has no timeout
// of its own and the context no deadline.
const DefaultTimeout = 30 * time.Second

// dirSource reads DIR/public/<name>.
type dirSource struct {
	root string
}

// DirSource returns a Source reading the files an issuer directory publishes,
// DIR/public/<name>. It serves no buckets (they are computed on request).
func DirSource(dir string) Source {
	return dirSource{root: filepath.Join(dir, "public")}
}

func (s dirSource) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("publication: reading %s: %w", name, err)
	}
	f, err := os.Open(filepath.Join(s.root, filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s in %s", ErrNotFound, name, s.root)
	}
	if err != nil {
		return nil, fmt.Errorf("publication: reading %s: %w", name, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("publication: reading %s: %w", name, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("publication: reading %s: not a regular file", name)
	}
	return readLimited(f, name, limit)
}

// httpSource reads baseURL/<name>.
type httpSource struct {
	base   string
	client *http.Client
	err    error // a malformed base URL, reported by every Get
}

// HTTPSource returns a Source that GETs baseURL + "/" + name with client
// (http.DefaultClient when nil). Each request is bounded by DefaultTimeout
// unless the client or the context has a timeout of its own. A base URL that
// CheckURL refuses (not https, unless the host is a loopback address) makes
// every Get fail with an error saying so; call CheckURL to learn it up front.
func HTTPSource(baseURL string, client *http.Client) Source {
	if client == nil {
		client = http.DefaultClient
	}
	// A redirect must stay where CheckURL would let the base URL be: an
	// https source (or a CDN in front of it) redirecting to plain http
	// takes the fetch off TLS. The copy leaves the caller's client as it is.
	c := *client
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := checkRedirect(req.URL); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("publication: stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return httpSource{base: strings.TrimRight(baseURL, "/"), client: &c, err: CheckURL(baseURL)}
}

// maxRedirects is net/http's default limit, kept when the caller's client
// sets no redirect policy of its own.
const maxRedirects = 10

// checkRedirect refuses a redirect target that is neither https nor plain
// http to a loopback host.
func checkRedirect(u *url.URL) error {
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopbackHost(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%w: redirected to %s://%s (plain http is accepted only for localhost, 127.0.0.0/8 and ::1)",
		ErrInsecureURL, u.Scheme, u.Host)
}

// ErrInsecureURL means an issuer URL is plain http to a host that is not a
// loopback address.
var ErrInsecureURL = errors.New("publication: issuer URL is not https")

// CheckURL refuses an issuer base URL that is not an absolute https URL
// without user info, query or fragment. Plain http is accepted only for a
// loopback host (localhost, 127.0.0.0/8, ::1): tests and a demo on one
// machine. Over plain http anyone on the path could swap what the issuer
// publishes, and although signatures and pins catch a forged key or root,
// they cannot stop an old, validly signed file from being replayed or the
// publication from being withheld.
func CheckURL(baseURL string) error {
	u, err := url.Parse(baseURL)
	if err != nil {
		return fmt.Errorf("publication: issuer URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("publication: issuer URL %q is not an absolute http(s) URL", baseURL)
	}
	if u.User != nil {
		// Not echoed: user info may hold a password.
		return errors.New("publication: issuer URL carries user info")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("publication: issuer URL %q has a query or fragment", baseURL)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		return fmt.Errorf("%w: %q (plain http is accepted only for localhost, 127.0.0.0/8 and ::1)", ErrInsecureURL, baseURL)
	}
	return nil
}

// loopbackHost reports whether host (without port or brackets) is
// localhost or a loopback IP address. No name is resolved: what counts is
// what the URL says.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func (s httpSource) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok && s.client.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	target := s.base + "/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("publication: %s: %w", target, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("publication: fetching %s: %w", target, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s", ErrNotFound, target)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("publication: fetching %s: HTTP status %s", target, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, target, resp.ContentLength, limit)
	}
	return readLimited(resp.Body, target, limit)
}

// readLimited reads r to the end, refusing more than limit bytes.
func readLimited(r io.Reader, name string, limit int64) ([]byte, error) {
	if limit < 0 {
		limit = 0
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("publication: reading %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s exceeds %d bytes", ErrTooLarge, name, limit)
	}
	return data, nil
}
