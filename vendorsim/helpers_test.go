package vendorsim

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"golang.org/x/net/http2"
)

// Device tokens used by the tests: 64 hex digits as Apple issues today.
const (
	goodToken  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	goodAlert  = `{"aps":{"alert":{"title":"Hi","body":"there"}},"f":"alice"}`
	testAPNsID = "3f9d5c1e-0b7a-4c55-9e2a-5a1f2b3c4d5e"
)

// testLogger routes the simulator's logs to t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startSim writes fresh credentials and starts a simulator that the test
// closes at its end.
func startSim(t *testing.T) (*Sim, *Creds) {
	t.Helper()
	creds, err := GenCreds(t.TempDir())
	if err != nil {
		t.Fatalf("GenCreds: %v", err)
	}
	sim, err := Start(Config{CredsFile: creds.ConfigFile, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim, creds
}

// h2Client is an HTTP/2-only client that trusts only the simulator's CA
// and presents certs, if any.
func h2Client(t *testing.T, sim *Sim, certs ...tls.Certificate) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(sim.CAPEM()) {
		t.Fatal("CAPEM holds no certificate")
	}
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// p8Key parses the generated .p8 private key.
func p8Key(t *testing.T, creds *Creds) *ecdsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(creds.APNs.P8PEM)
	if block == nil {
		t.Fatal("p8: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("parse p8: %v", err)
	}
	return k.(*ecdsa.PrivateKey)
}

// mintJWT signs an APNs provider token as Herald does.
func mintJWT(t *testing.T, key *ecdsa.PrivateKey, kid, team string, iat time.Time) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": team, "iat": iat.Unix()})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign jwt: %v", err)
	}
	return s
}

// freshJWT is a valid provider token of the generated team, issued now.
func freshJWT(t *testing.T, creds *Creds) string {
	t.Helper()
	return mintJWT(t, p8Key(t, creds), creds.APNs.KeyID, creds.APNs.TeamID, time.Now())
}

// push is one APNs request: token, headers and body.
type push struct {
	method  string // default POST
	path    string // default /3/device/<token>
	token   string
	headers map[string]string // "" value deletes the default header
	body    string
}

// defaultPush is a valid alert push to goodToken authorised by jwtStr.
func defaultPush(creds *Creds, jwtStr string) push {
	return push{
		token: goodToken,
		headers: map[string]string{
			"authorization":  "bearer " + jwtStr,
			"apns-topic":     creds.APNs.BundleID,
			"apns-push-type": "alert",
			"apns-priority":  "10",
			"apns-id":        testAPNsID,
		},
		body: goodAlert,
	}
}

// apnsReply is what a test reads back from the simulator.
type apnsReply struct {
	status    int
	reason    string
	timestamp int64
	header    http.Header
}

// send performs p against the simulator and decodes the answer.
func send(t *testing.T, ctx context.Context, c *http.Client, sim *Sim, p push) (apnsReply, error) {
	t.Helper()
	method, path := p.method, p.path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/3/device/" + p.token
	}
	req, err := http.NewRequestWithContext(ctx, method, sim.Endpoint(VendorAPNs)+path,
		bytes.NewReader([]byte(p.body)))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range p.headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		return apnsReply{}, err
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("answer over %s, want HTTP/2", resp.Proto)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	reply := apnsReply{status: resp.StatusCode, header: resp.Header}
	if len(data) > 0 {
		var body struct {
			Reason    string `json:"reason"`
			Timestamp int64  `json:"timestamp"`
		}
		if err := json.Unmarshal(data, &body); err != nil {
			t.Fatalf("answer body %q: %v", data, err)
		}
		reply.reason, reply.timestamp = body.Reason, body.Timestamp
	}
	return reply, nil
}

// mustSend is send that fails the test on a transport error.
func mustSend(t *testing.T, c *http.Client, sim *Sim, p push) apnsReply {
	t.Helper()
	r, err := send(t, context.Background(), c, sim, p)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return r
}

// waitOne waits for the single record of token, failing after 10 s.
func waitOne(t *testing.T, sim *Sim, f Filter) Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs, err := sim.Wait(ctx, 1, f)
	if err != nil {
		t.Fatalf("Wait(%+v): %v", f, err)
	}
	return recs[len(recs)-1]
}
