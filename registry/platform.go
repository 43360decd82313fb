package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/yinzheng-id/yinzheng/jose"
)

// Files of a platform directory, written by Platform.Save (registry
// register --out PDIR).
const (
	// PlatformKeyName is the platform's signing key, sealed under the
	// platform's passphrase.
	PlatformKeyName = "platform-key.sealed"
	// ChainName is the access certificate chain (PEM), leaf first.
	ChainName = "chain.pem"
	// RegistrationName is the signed registration (compact JWT).
	RegistrationName = "registration.jwt"
	// TLSCertName and TLSKeyName are the optional TLS server certificate
	// and its unencrypted key (0600).
	TLSCertName = "tls-cert.pem"
	TLSKeyName  = "tls-key.pem"
)

// platformKeyAAD binds the sealed platform key to its purpose.
var platformKeyAAD = []byte("yinzheng-platform/v1 key")

// Platform is a registered platform's credentials: what its verifier uses
// to sign requests (Key), to prove who it is (Chain, the x5c of its
// requests) and what it may ask (Registration), and the status list it
// staples (Status).
type Platform struct {
	// Domain is the registered domain, the leaf's DNS name.
	Domain string
	// Chain is the access certificate chain, leaf first, without the root.
	Chain []*smx509.Certificate
	// Key is the platform's signing key, the leaf's key.
	Key *jose.PrivateKey
	// Registration is the signed registration (compact registration+jwt).
	Registration string
	// Status is the registrar's registration status list token to staple
	// into requests ("" when the directory has none). It expires (see
	// StatusListName): the platform replaces the file with the registrar's
	// latest public/registration-status.jwt well before.
	Status string
	// Root is the registrar root the platform was certified under.
	Root *smx509.Certificate
	// Registered is the registration as verified against Root.
	Registered *Registration
}

// Save writes p into dir: the key sealed under passphrase (0600), the
// chain, the root, the registration and the status list. dir is created if
// missing and must not hold a platform key already (a registration is not
// overwritten by accident). kdf nil means the default sealing costs.
func (p *Platform) Save(dir string, passphrase []byte, kdf *KDFParams) error {
	if len(passphrase) == 0 {
		return errors.New("registry: empty platform passphrase")
	}
	if p.Key == nil || len(p.Chain) == 0 || p.Root == nil || p.Registration == "" {
		return errors.New("registry: an incomplete platform (key, chain, root and registration are needed)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, PlatformKeyName)); err == nil {
		return fmt.Errorf("registry: %s already holds a platform key; choose a new directory", dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("registry: %w", err)
	}
	if err := sealKey(filepath.Join(dir, PlatformKeyName), p.Key, passphrase, platformKeyAAD, kdf); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{ChainName, EncodeCertificates(p.Chain...)},
		{RootName, EncodeCertificates(p.Root)},
		{RegistrationName, []byte(p.Registration + "\n")},
	}
	if p.Status != "" {
		files = append(files, struct {
			name string
			data []byte
		}{StatusListName, []byte(p.Status + "\n")})
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// SaveTLS writes a TLS certificate and its key into a platform directory:
// tls-cert.pem (0644) and tls-key.pem, unencrypted because a server reads it
// at start without a person to type a passphrase, and so 0600.
func SaveTLS(dir string, certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if err := writeFile(filepath.Join(dir, TLSKeyName), keyPEM, 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, TLSCertName), certPEM, 0o644)
}

// LoadPlatform reads a platform directory written by Save and opens its
// key with passphrase. It checks that the files belong together (the key
// is the leaf's, the chain and the registration verify to the root in the
// directory, the registration is current) so that a platform learns of a
// broken or expired registration when it starts, not from its users. The
// status list file is read but not checked: it may be older than the
// registration, and it is the wallets that judge it. This is a
// consistency check of the platform's own files, not a trust decision.
func LoadPlatform(dir string, passphrase []byte) (*Platform, error) {
	return loadPlatform(dir, passphrase, time.Now())
}

func loadPlatform(dir string, passphrase []byte, now time.Time) (*Platform, error) {
	key, err := openKey(filepath.Join(dir, PlatformKeyName), passphrase, platformKeyAAD)
	if err != nil {
		return nil, err
	}
	read := func(name string) ([]byte, error) {
		data, err := readFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("registry: platform directory %s: %w", dir, err)
		}
		return data, nil
	}
	chainPEM, err := read(ChainName)
	if err != nil {
		return nil, err
	}
	chain, err := ParseCertificates(chainPEM)
	if err != nil {
		return nil, fmt.Errorf("registry: %s: %w", ChainName, err)
	}
	rootPEM, err := read(RootName)
	if err != nil {
		return nil, err
	}
	roots, err := LoadRoots(rootPEM)
	if err != nil {
		return nil, fmt.Errorf("registry: %s: %w", RootName, err)
	}
	if len(roots.certs) != 1 {
		return nil, fmt.Errorf("registry: %s must hold exactly one root certificate", RootName)
	}
	regData, err := read(RegistrationName)
	if err != nil {
		return nil, err
	}
	p := &Platform{Chain: chain, Key: key, Registration: strings.TrimSpace(string(regData)), Root: roots.certs[0]}
	switch status, err := readFile(filepath.Join(dir, StatusListName)); {
	case err == nil:
		p.Status = strings.TrimSpace(string(status))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	leafKey, err := PublicKeyOf(chain[0])
	if err != nil {
		return nil, err
	}
	if !leafKey.Equal(key.Public()) {
		return nil, fmt.Errorf("%w: the sealed platform key is not the access certificate's", ErrKeyMismatch)
	}
	if p.Registered, err = VerifyPlatformWithOptions(chain, p.Registration, "", roots, now, VerifyOptions{AllowMissingStatus: true}); err != nil {
		return nil, fmt.Errorf("registry: platform directory %s: %w", dir, err)
	}
	p.Domain = p.Registered.Domain
	return p, nil
}

// X5C returns the platform's chain as a JWS "x5c" value.
func (p *Platform) X5C() []string { return X5C(p.Chain) }

// ClientID returns the OpenID4VP client identifier of the platform,
// "x509_san_dns:" and its domain.
func (p *Platform) ClientID() string { return ClientIDPrefix + p.Domain }

// ClientIDPrefix is the OpenID4VP 1.0 client identifier prefix of a
// platform authenticated by its X.509 certificate's DNS name.
const ClientIDPrefix = "x509_san_dns:"
