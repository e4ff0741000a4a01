package vendors

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestClassNamesAndStatus(t *testing.T) {
	tests := []struct {
		c       Class
		name    string
		status  string
		retries bool
	}{
		{Delivered, "delivered", "success", false},
		{TokenInvalid, "token-invalid", "fail", false},
		{Retryable, "retryable", "error", true},
		{Throttled, "throttled", "error", true},
		{CredentialError, "credential-error", "fail", false},
		{PayloadError, "payload-error", "fail", false},
		{Class(42), "class(42)", "fail", false},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.name {
			t.Errorf("Class(%d).String() = %q, want %q", int(tt.c), got, tt.name)
		}
		if got := tt.c.Status(); got != tt.status {
			t.Errorf("%v.Status() = %q, want %q", tt.c, got, tt.status)
		}
		if got := tt.c.Retries(); got != tt.retries {
			t.Errorf("%v.Retries() = %v, want %v", tt.c, got, tt.retries)
		}
	}
}

func TestMaskToken(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0123456789abcdef", "012345…"},
		{"abcdef", "abcdef…"},
		{"abc", "abc…"},
		{"", "…"},
		{"äöüßéèxyz", "äöüßéè…"},
	}
	for _, tt := range tests {
		if got := MaskToken(tt.in); got != tt.want {
			t.Errorf("MaskToken(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	fixed := func(f float64) func() float64 { return func() float64 { return f } }
	tests := []struct {
		n          int
		base       time.Duration
		retryAfter time.Duration
		rnd        float64
		want       time.Duration
	}{
		{0, 0, 0, 0, 500 * time.Millisecond},
		{0, 0, 0, 0.5, time.Second},
		{1, 0, 0, 0.5, 2 * time.Second},
		{1, 0, 0, 0.999, 2*time.Second + 998*time.Millisecond},
		{2, 0, 0, 0, 2 * time.Second},
		{0, 0, 3 * time.Second, 0.5, 3 * time.Second},
		{1, 0, time.Second, 0.5, 2 * time.Second},
		{1, 10 * time.Millisecond, 0, 0.5, 20 * time.Millisecond},
		{-3, 0, 0, 0.5, time.Second},
	}
	for _, tt := range tests {
		got := Backoff(tt.n, tt.base, tt.retryAfter, fixed(tt.rnd))
		if got != tt.want {
			t.Errorf("Backoff(%d, %v, %v, %v) = %v, want %v",
				tt.n, tt.base, tt.retryAfter, tt.rnd, got, tt.want)
		}
	}

	// The huge exponent is clamped, not overflowed into a negative delay.
	if got := Backoff(70, 0, 0, fixed(0)); got <= 0 {
		t.Errorf("Backoff(70) = %v, want a positive delay", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"Thu, 03 Dec 2026 18:00:30 GMT", 30 * time.Second, true},
		{"Thu, 03 Dec 2026 17:00:00 GMT", 0, true},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v, want %v, %v",
				tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTrustPoolAddsSSLCertFile(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "herald trust test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(file, block, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Setenv("SSL_CERT_FILE", "")
	opts := x509.VerifyOptions{}
	opts.Roots = TrustPool()
	if _, err := cert.Verify(opts); err == nil {
		t.Fatal("test CA verified without SSL_CERT_FILE")
	}

	t.Setenv("SSL_CERT_FILE", file)
	opts.Roots = TrustPool()
	if _, err := cert.Verify(opts); err != nil {
		t.Fatalf("test CA not trusted with SSL_CERT_FILE: %v", err)
	}
}
