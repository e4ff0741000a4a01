package apns

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// testCreds are matching p8 and p12 credentials made for one test.
type testCreds struct {
	p8  map[string]string
	p12 map[string]string
	pub *ecdsa.PublicKey
}

func makeTestCreds(t *testing.T) testCreds {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p8 := map[string]string{
		"bundle_id":   "im.herald.test",
		"auth_type":   "p8",
		"key_id":      "KEY1234567",
		"team_id":     "TEAM123456",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	}
	p12 := map[string]string{
		"bundle_id":   "im.herald.test",
		"auth_type":   "p12",
		"certificate": makeP12(t, "secret", time.Now().Add(time.Hour)),
		"password":    "secret",
	}
	return testCreds{p8: p8, p12: p12, pub: &key.PublicKey}
}

// makeP12 encodes a self-signed client certificate the legacy way Keychain
// does, as base64.
func makeP12(t *testing.T, password string, notAfter time.Time) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "Apple Push Services: im.herald.test"},
		NotBefore:    notAfter.Add(-48 * time.Hour),
		NotAfter:     notAfter,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := pkcs12.LegacyRC2.Encode(key, cert, nil, password)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(pfx)
}

// seen is one request the test server received.
type seen struct {
	token   string
	headers http.Header
	body    string
	bearer  string
	tlsCert bool
}

// testAPNs is a small APNs over real TLS and HTTP/2 for these tests. It
// checks the JWT signature or the client certificate and answers by token
// prefix like vendorsim: dead 410, baddev 400, flaky 503 once, fail 500,
// throttle 429; anything else 200.
type testAPNs struct {
	srv *httptest.Server
	pub *ecdsa.PublicKey

	mu       sync.Mutex
	reqs     []seen
	attempts map[string]int
	// refuseJWTs answers this many first distinct JWTs with 403
	// ExpiredProviderToken.
	refuseJWTs int
	refused    map[string]bool
}

func startTestAPNs(t *testing.T, pub *ecdsa.PublicKey) *testAPNs {
	t.Helper()
	s := &testAPNs{pub: pub, attempts: map[string]int{}, refused: map[string]bool{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.EnableHTTP2 = true
	s.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *testAPNs) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.srv.Certificate())
	return pool
}

func (s *testAPNs) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

func reply(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"reason":%q}`, reason)
}

func (s *testAPNs) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	tok, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	if r.Method != http.MethodPost || !ok || r.ProtoMajor != 2 {
		reply(w, http.StatusNotFound, "BadPath")
		return
	}
	bearer, _ := strings.CutPrefix(r.Header.Get("authorization"), "bearer ")
	hasCert := len(r.TLS.PeerCertificates) > 0

	s.mu.Lock()
	s.reqs = append(s.reqs, seen{token: tok, headers: r.Header.Clone(),
		body: string(body), bearer: bearer, tlsCert: hasCert})
	s.attempts[tok]++
	attempt := s.attempts[tok]
	refuse := false
	if bearer != "" && !s.refused[bearer] && len(s.refused) < s.refuseJWTs {
		s.refused[bearer] = true
		refuse = true
	}
	s.mu.Unlock()

	switch {
	case !hasCert && !s.validJWT(bearer):
		reply(w, http.StatusForbidden, "InvalidProviderToken")
		return
	case refuse:
		reply(w, http.StatusForbidden, "ExpiredProviderToken")
		return
	}
	s.answerFor(w, r, tok, attempt)
}

func (s *testAPNs) answerFor(w http.ResponseWriter, r *http.Request, tok string, attempt int) {
	switch {
	case strings.HasPrefix(tok, "dead"):
		w.WriteHeader(http.StatusGone)
		fmt.Fprintf(w, `{"reason":"Unregistered","timestamp":%d}`, int64(1_700_000_000_123))
	case strings.HasPrefix(tok, "baddev"):
		reply(w, http.StatusBadRequest, "BadDeviceToken")
	case strings.HasPrefix(tok, "flaky") && attempt == 1:
		w.Header().Set("Retry-After", "1")
		reply(w, http.StatusServiceUnavailable, "ServiceUnavailable")
	case strings.HasPrefix(tok, "fail"):
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "<html>oops</html>")
	case strings.HasPrefix(tok, "throttle"):
		w.Header().Set("Retry-After", "1")
		reply(w, http.StatusTooManyRequests, "TooManyRequests")
	default:
		id := r.Header.Get("apns-id")
		if id == "" {
			id = "00000000-0000-4000-8000-000000000000"
		}
		w.Header().Set("apns-id", id)
		w.WriteHeader(http.StatusOK)
	}
}

// validJWT verifies an ES256 provider token with the team's key and the
// claims APNs wants: iss and an iat within the hour.
func (s *testAPNs) validJWT(bearer string) bool {
	if bearer == "" || s.pub == nil {
		return false
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(bearer, claims, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodES256 || t.Header["kid"] != "KEY1234567" {
			return nil, fmt.Errorf("bad header")
		}
		return s.pub, nil
	})
	if err != nil || !tok.Valid || claims["iss"] != "TEAM123456" {
		return false
	}
	iat, ok := claims["iat"].(float64)
	return ok && time.Since(time.Unix(int64(iat), 0)) < time.Hour
}

// emptyRoots trusts nothing.
func (s *testAPNs) emptyRoots() *x509.CertPool { return x509.NewCertPool() }
