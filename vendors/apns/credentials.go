// Package apns is Herald's wire client for Apple Push Notification service
// (providers apns and apns-voip): it parses a notifier's credentials, turns
// a vendor-neutral messages.Notification into an APNs request, sends it over
// HTTP/2 with TLS and classifies the answer (VENDORS.md §1, §2.1).
//
// It has no actors and keeps no per-push state: the delivery actor owns a
// Client per notifier, decides retries and maps classes to statuses.
package apns

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sideshow/apns2/certificate"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/herald-im/herald/vendors"
)

// Providers served by this package.
const (
	ProviderAPNs = "apns"
	ProviderVoIP = "apns-voip"
)

// Auth types of SPEC.md §11.7.
const (
	AuthP8  = "p8"
	AuthP12 = "p12"
)

// Credentials are a notifier's parsed APNs credentials.
type Credentials struct {
	// Provider is apns or apns-voip.
	Provider string
	BundleID string
	// AuthType is p8 (token auth) or p12 (certificate auth).
	AuthType string

	// Token auth (p8).
	KeyID      string
	TeamID     string
	PrivateKey *ecdsa.PrivateKey

	// Certificate auth (p12). CertNotAfter is the leaf's expiry: an expired
	// certificate is a credential error without a request.
	Certificate  tls.Certificate
	CertNotAfter time.Time

	// DefaultSound replaces "default" when a push names no sound.
	DefaultSound string
}

// ParseCredentials checks and parses the credentials of an apns or
// apns-voip notifier (SPEC.md §11.7). A missing or invalid field gives a
// *vendors.FieldError naming it; secrets never appear in the error.
func ParseCredentials(provider string, creds map[string]string) (*Credentials, error) {
	if provider != ProviderAPNs && provider != ProviderVoIP {
		return nil, &vendors.FieldError{Field: "provider", Reason: "not apns or apns-voip"}
	}
	c := &Credentials{
		Provider:     provider,
		BundleID:     strings.TrimSpace(creds["bundle_id"]),
		AuthType:     creds["auth_type"],
		DefaultSound: creds["default_sound"],
	}

	if c.BundleID == "" || strings.ContainsAny(c.BundleID, " \t\r\n/") {
		return nil, fieldErr("bundle_id", "required, no spaces or slashes")
	}

	switch c.AuthType {
	case AuthP8:
		if err := c.parseP8(creds); err != nil {
			return nil, err
		}
	case AuthP12:
		if err := c.parseP12(creds); err != nil {
			return nil, err
		}
	default:
		return nil, fieldErr("auth_type", "must be p8 or p12")
	}
	return c, nil
}

func fieldErr(name, reason string) *vendors.FieldError {
	return &vendors.FieldError{Field: "credentials." + name, Reason: reason}
}

// parseP8 reads the token-auth fields: the JWT is signed with an ES256
// (P-256) key, so any other key is refused here instead of at every push.
func (c *Credentials) parseP8(creds map[string]string) error {
	c.KeyID = strings.TrimSpace(creds["key_id"])
	c.TeamID = strings.TrimSpace(creds["team_id"])
	if c.KeyID == "" {
		return fieldErr("key_id", "required")
	}
	if c.TeamID == "" {
		return fieldErr("team_id", "required")
	}

	key, err := parseP256Key(creds["private_key"])
	if err != nil {
		return fieldErr("private_key", err.Error())
	}
	c.PrivateKey = key
	return nil
}

func parseP256Key(text string) (*ecdsa.PrivateKey, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("required")
	}
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("not PEM")
	}

	var key any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, errors.New("not a PKCS#8 private key")
	}

	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not a P-256 key")
	}
	return ec, nil
}

// parseP12 reads the certificate-auth fields. apns2's decoder reads the
// legacy RC2/3DES files Keychain exports but only a lone certificate and
// key; a file that also carries its chain goes through go-pkcs12.
func (c *Credentials) parseP12(creds map[string]string) error {
	text, ok := creds["certificate"]
	if !ok || strings.TrimSpace(text) == "" {
		return fieldErr("certificate", "required")
	}
	password, ok := creds["password"]
	if !ok {
		return fieldErr("password", "required")
	}

	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return fieldErr("certificate", "not base64")
	}

	cert, err := certificate.FromP12Bytes(der, password)
	if err != nil {
		cert, err = decodeP12Chain(der, password)
	}
	if err != nil {
		return fieldErr("certificate", "PKCS#12 does not decode with this password")
	}

	c.Certificate = cert
	c.CertNotAfter = cert.Leaf.NotAfter
	return nil
}

func decodeP12Chain(der []byte, password string) (tls.Certificate, error) {
	key, leaf, chain, err := pkcs12.DecodeChain(der, password)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("decode pkcs12: %w", err)
	}
	cert := tls.Certificate{
		Certificate: [][]byte{leaf.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}
	for _, ca := range chain {
		cert.Certificate = append(cert.Certificate, ca.Raw)
	}
	return cert, nil
}
