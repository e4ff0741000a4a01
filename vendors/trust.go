package vendors

import (
	"crypto/x509"
	"os"
)

// TrustPool returns the roots vendor TLS connections trust: the system pool
// (an empty pool when it cannot be loaded) plus every PEM certificate in the
// file named by SSL_CERT_FILE. The file is appended explicitly so every
// platform behaves alike (VENDORS.md §1.1); tests point it at vendorsim's CA.
// A missing or unreadable file adds nothing.
func TrustPool() *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}

	if name := os.Getenv("SSL_CERT_FILE"); name != "" {
		if pem, err := os.ReadFile(name); err == nil {
			pool.AppendCertsFromPEM(pem)
		}
	}
	return pool
}

// MaskToken shortens a device token for logs: its first 6 characters and
// an ellipsis. Tokens are addresses of people's phones and never appear in
// full in a log.
func MaskToken(tok string) string {
	n := 0
	for i := range tok {
		if n == 6 {
			return tok[:i] + "…"
		}
		n++
	}
	return tok + "…"
}
