package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
)

// tlsFlags are the services' --tls-cert and --tls-key: OpenID4VP and
// OpenID4VCI require https URLs, so a service reached directly (not through
// a TLS-terminating proxy) serves HTTPS itself.
type tlsFlags struct {
	cert, key string
}

func (t *tlsFlags) register(fs interface {
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&t.cert, "tls-cert", "", "serve HTTPS with this certificate chain (PEM, leaf first; e.g. tls-cert.pem from `registry register --tls`)")
	fs.StringVar(&t.key, "tls-key", "", "the private key of --tls-cert (PEM, unencrypted)")
}

// scheme is the scheme the service is reached at directly.
func (t tlsFlags) scheme() string {
	if t.cert != "" {
		return "https"
	}
	return "http"
}

// apply loads the certificate into cfg. Without one, a listening address
// that is not loopback gets a warning on stderr: plain HTTP is for
// development, or behind a proxy that terminates TLS.
func (t tlsFlags) apply(cfg httpserv.Config, addr string, stderr io.Writer) (httpserv.Config, error) {
	if (t.cert == "") != (t.key == "") {
		return cfg, usageError("--tls-cert and --tls-key go together")
	}
	if t.cert == "" {
		if !loopbackAddr(addr) {
			fmt.Fprintf(stderr, "warning: plain HTTP on %s; wallets refuse http request and response URIs off loopback: give --tls-cert/--tls-key or terminate TLS in a proxy\n", addr)
		}
		return cfg, nil
	}
	pair, err := tls.LoadX509KeyPair(t.cert, t.key)
	if err != nil {
		// The error names files and PEM problems, never key material.
		return cfg, fmt.Errorf("loading --tls-cert/--tls-key: %w", err)
	}
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	return cfg, nil
}

// loopbackAddr reports whether host:port listens on loopback only.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
