package vendorsim

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The fake vendor below is registered from this test file only: it proves
// a vendor plugs in through RegisterVendor with no edit to shared files.
// It is an OEM-style vendor: h2 and HTTP/1.1, a token service on the same
// listener (POST /token, form), and pushes (POST /send, JSON, bearer).
const (
	vendorFake     = "fake"
	fakeSecretFile = "fake.secret"
	fakeStreams    = 77
)

func init() {
	RegisterVendor(VendorSpec{
		Name:       vendorFake,
		HTTP1:      true,
		MaxStreams: fakeStreams,
		Hosts:      []string{"push.fake.example"},
		LoadCreds:  loadFakeCreds,
		NewHandler: func(env *VendorEnv, creds any) (http.Handler, error) {
			c := creds.(fakeCreds)
			return &fakeServer{env: env, creds: c, tokens: env.NewTokenIssuer(c.TokenTTL)}, nil
		},
		GenCreds: genFakeCreds,
	})
}

// fakeSection is the vendor's vendorsim.yaml section.
type fakeSection struct {
	Apps     map[string]string `yaml:"apps"` // app id -> secret
	TokenTTL Duration          `yaml:"token_ttl,omitempty"`
}

type fakeCreds struct {
	apps     map[string]string
	TokenTTL time.Duration
}

func loadFakeCreds(node *yaml.Node) (any, error) {
	var sec fakeSection
	if node != nil {
		if err := node.Decode(&sec); err != nil {
			return nil, fmt.Errorf("fake: %w", err)
		}
	}
	for id, secret := range sec.Apps {
		if secret == "" {
			return nil, fmt.Errorf("fake.apps[%s]: empty secret", id)
		}
	}
	return fakeCreds{apps: sec.Apps, TokenTTL: time.Duration(sec.TokenTTL)}, nil
}

func genFakeCreds(dir string) (GeneratedCreds, error) {
	id, secret := "app-"+randomID(6), randomID(20)
	if err := os.WriteFile(filepath.Join(dir, fakeSecretFile), []byte(secret), 0o600); err != nil {
		return GeneratedCreds{}, err
	}
	return GeneratedCreds{
		Section: fakeSection{Apps: map[string]string{id: secret}},
		Fields:  map[string]string{"client_id": id, "client_secret": secret},
	}, nil
}

type fakeAnswer struct {
	status int
	code   string
}

var fakeMagic = MagicAnswers[fakeAnswer]{
	Dead:     fakeAnswer{200, "dead-token"},
	BadDev:   fakeAnswer{200, "dead-token"},
	Throttle: fakeAnswer{429, "slow-down"},
	Fail:     fakeAnswer{500, "oops"},
	Flaky:    fakeAnswer{503, "busy"},
}

type fakeServer struct {
	env    *VendorEnv
	creds  fakeCreds
	tokens *TokenIssuer
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		f.issue(w, r)
		return
	}
	x := f.env.Begin(r)
	body, err := ReadBody(r, 4096)
	if err != nil {
		x.Finish(http.StatusRequestEntityTooLarge, "too-large", OutcomePayloadError)
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	var msg struct{ Token, Text string }
	_ = DecodeJSON(body, &msg)
	x.Record.Payload = RecordPayload(body)
	x.Record.Token = msg.Token
	x.Record.Attempt = f.env.Attempts().Next(msg.Token, body)
	w.Header().Set("x-proto", r.Proto)

	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	app, state := f.tokens.Check(bearer)
	x.Record.App, x.Record.Auth = app, RecordAuth{Scheme: "bearer", Subject: app}
	ans, outcome := f.decide(state, msg.Token, x)

	if !x.Delay(r.Context(), 0) {
		x.Finish(0, "NO_ANSWER", OutcomeRetryable)
		return
	}
	x.Finish(ans.status, ans.code, outcome)
	WriteJSON(w, ans.status, map[string]string{"code": ans.code})
}

func (f *fakeServer) decide(state TokenState, token string, x *Exchange) (fakeAnswer, string) {
	switch {
	case state != TokenValid:
		return fakeAnswer{401, "bad-auth"}, OutcomeCredentialError
	case x.Fault.ErrorKind == ErrorKindThrottle:
		return fakeAnswer{429, "slow-down"}, OutcomeThrottled
	}
	m := fakeMagic.Match(token, x.Record.Attempt)
	if !m.Scripted {
		return fakeAnswer{200, "ok"}, OutcomeDelivered
	}
	outcomes := map[int]string{200: OutcomeTokenInvalid, 429: OutcomeThrottled}
	if o, ok := outcomes[m.Answer.status]; ok {
		return m.Answer, o
	}
	return m.Answer, OutcomeRetryable
}

func (f *fakeServer) issue(w http.ResponseWriter, r *http.Request) {
	f.env.CountTokenFetch()
	body, err := ReadBody(r, 4096)
	if err != nil {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "too large"})
		return
	}
	form, err := ParseForm(body)
	id := form.Get("client_id")
	if err != nil || id == "" || f.creds.apps[id] != form.Get("client_secret") {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client"})
		return
	}
	tok, ttl := f.tokens.Issue(id)
	WriteJSON(w, http.StatusOK, map[string]any{"access_token": tok,
		"expires_in": int(ttl.Seconds())})
}

// fakeClient speaks HTTP/1.1 (h1) or HTTP/2 to the simulator.
func fakeClient(t *testing.T, sim *Sim, h2 bool) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CAPEM())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func fakeToken(t *testing.T, c *http.Client, base string, fields map[string]string) string {
	t.Helper()
	form := url.Values{"client_id": {fields["client_id"]},
		"client_secret": {fields["client_secret"]}}
	resp, err := c.PostForm(base+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || DecodeJSON(body, &out) != nil || out.AccessToken == "" {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	return out.AccessToken
}

// fakeSend pushes to token and returns the status and protocol.
func fakeSend(t *testing.T, c *http.Client, base, bearer, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/send",
		strings.NewReader(`{"token":"`+token+`","text":"hi"}`))
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("x-proto")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestRegisteredVendorGetsCredsListenerAndRecords(t *testing.T) {
	creds, err := GenCreds(t.TempDir())
	if err != nil {
		t.Fatalf("GenCreds: %v", err)
	}

	// The gen-creds hook wrote its file, its section and its fields.
	fields := creds.Vendors[vendorFake]
	secret, err := os.ReadFile(filepath.Join(creds.Dir, fakeSecretFile))
	if err != nil || string(secret) != fields["client_secret"] || fields["client_id"] == "" {
		t.Fatalf("fake creds: fields %v, file %q (%v)", fields, secret, err)
	}
	yml, _ := os.ReadFile(creds.ConfigFile)
	if !strings.Contains(string(yml), "\nfake:\n") || !strings.Contains(string(yml), "apns:") {
		t.Fatalf("vendorsim.yaml lacks a vendor section:\n%s", yml)
	}
	if creds.Vendors[VendorAPNs]["key_id"] != creds.APNs.KeyID {
		t.Errorf("Vendors[apns] = %v, want the p8 fields", creds.Vendors[VendorAPNs])
	}

	port := freePort(t)
	sim, err := Start(Config{CredsFile: creds.ConfigFile, Logger: testLogger(t),
		Ports: map[string]int{vendorFake: port}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { sim.Close() })

	base := sim.Endpoint(vendorFake)
	if base != "https://127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("Endpoint(fake) = %q, want port %d", base, port)
	}
	var eps map[string]string
	getJSON(t, "GET", sim.ControlURL()+"/_sim/endpoints", "", &eps)
	if eps[vendorFake] != base || eps[VendorAPNs] == "" || eps["control"] == "" {
		t.Errorf("/_sim/endpoints = %v, want fake, apns and control", eps)
	}

	// Both protocols reach the handler; auth is path-distinguished on the
	// same listener.
	for _, h2 := range []bool{false, true} {
		c := fakeClient(t, sim, h2)
		bearer := fakeToken(t, c, base, fields)
		status, proto := fakeSend(t, c, base, bearer, "tok"+strconv.FormatBool(h2))
		want := map[bool]string{false: "HTTP/1.1", true: "HTTP/2.0"}[h2]
		if status != 200 || proto != want {
			t.Errorf("h2=%v: send = %d over %q, want 200 over %s", h2, status, proto, want)
		}
	}

	rec := waitOne(t, sim, Filter{Vendor: vendorFake, Token: "tokfalse"})
	if rec.Outcome != OutcomeDelivered || rec.App != fields["client_id"] ||
		rec.Headers["authorization"] != "Bearer ***" || rec.Attempt != 1 {
		t.Errorf("record = %+v", rec)
	}
	if got := sim.Counters()[vendorFake].TokenFetches; got != 2 {
		t.Errorf("token fetches = %d, want 2", got)
	}
}

func TestRegisteredVendorMagicFaultsAndReset(t *testing.T) {
	sim, creds := startSim(t)
	base := sim.Endpoint(vendorFake)
	c := fakeClient(t, sim, false)
	bearer := fakeToken(t, c, base, creds.Vendors[vendorFake])

	tests := []struct {
		token   string
		status  int
		outcome string
	}{
		{"dead1", 200, OutcomeTokenInvalid},
		{"flaky1", 503, OutcomeRetryable},
		{"flaky1", 200, OutcomeDelivered},
		{"throttle1", 429, OutcomeThrottled},
	}
	for i, tt := range tests {
		status, _ := fakeSend(t, c, base, bearer, tt.token)
		recs := sim.Received(Filter{Vendor: vendorFake, Token: tt.token})
		last := recs[len(recs)-1]
		if status != tt.status || last.Outcome != tt.outcome {
			t.Errorf("%d %s: %d %s, want %d %s", i, tt.token, status, last.Outcome,
				tt.status, tt.outcome)
		}
	}

	// A per-vendor fault reaches this vendor and not apns.
	err := sim.SetFaults(FaultSet{Vendors: map[string]Faults{
		vendorFake: {ErrorRate: 1, ErrorKind: ErrorKindThrottle}}})
	if err != nil {
		t.Fatalf("SetFaults: %v", err)
	}
	if status, _ := fakeSend(t, c, base, bearer, "ok1"); status != 429 {
		t.Errorf("with throttle fault: %d, want 429", status)
	}
	if err := sim.SetFaults(FaultSet{}); err != nil {
		t.Fatal(err)
	}

	// Reset forgets issued tokens and first attempts.
	sim.Reset()
	if status, _ := fakeSend(t, c, base, bearer, "ok1"); status != 401 {
		t.Errorf("old token after Reset: %d, want 401", status)
	}
	bearer = fakeToken(t, c, base, creds.Vendors[vendorFake])
	if status, _ := fakeSend(t, c, base, bearer, "flaky1"); status != 503 {
		t.Errorf("flaky after Reset: %d, want 503 again", status)
	}
}

func TestRegisteredVendorConfigErrors(t *testing.T) {
	creds, err := GenCreds(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown vendor port", Config{Ports: map[string]int{"nope": 1}}, `unknown vendor "nope"`},
		{"port out of range", Config{Ports: map[string]int{vendorFake: -1}}, "Ports[fake]"},
	}
	for _, tt := range tests {
		tt.cfg.CredsFile = creds.ConfigFile
		if sim, err := Start(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			if sim != nil {
				sim.Close()
			}
			t.Errorf("%s: Start = %v, want an error naming %q", tt.name, err, tt.want)
		}
	}

	path := filepath.Join(t.TempDir(), "v.yaml")
	if err := writeFile(path, "fake:\n  apps: {a1: \"\"}\n"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadCreds(path); err == nil || !strings.Contains(err.Error(), "fake.apps[a1]") {
		t.Errorf("loadCreds = %v, want the fake section's error", err)
	}
	if err := (VendorSpec{Name: "control"}).validate(); err == nil {
		t.Error("spec named control validated, want an error")
	}
	defer func() {
		if recover() == nil {
			t.Error("registering apns twice did not panic")
		}
	}()
	RegisterVendor(VendorSpec{Name: VendorAPNs, LoadCreds: loadFakeCreds,
		NewHandler: func(*VendorEnv, any) (http.Handler, error) { return nil, errors.New("x") },
		GenCreds:   genFakeCreds})
}

func TestTokenIssuerExpiry(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	ti := newTokenIssuer(time.Minute, func() time.Time { return now })
	tok, ttl := ti.Issue("app1")
	if ttl != time.Minute {
		t.Fatalf("ttl = %v", ttl)
	}
	if sub, st := ti.Check(tok); sub != "app1" || st != TokenValid {
		t.Fatalf("Check = %q %v, want app1 valid", sub, st)
	}
	if _, st := ti.Check("other"); st != TokenUnknown {
		t.Errorf("unknown token: %v", st)
	}
	now = now.Add(time.Minute)
	if _, st := ti.Check(tok); st != TokenExpired {
		t.Errorf("after ttl: %v, want expired", st)
	}
	tok2, _ := ti.Issue("app1")
	ti.ExpireAll()
	if _, st := ti.Check(tok2); st != TokenExpired {
		t.Errorf("after ExpireAll: %v, want expired", st)
	}
}

func TestRecordForm(t *testing.T) {
	vals := url.Values{"b": {"x"}, "secret": {"s3"}, "msg": {`{"a": 1}`}}
	got := string(RecordForm(vals, "secret"))
	want := `{"b":"x","msg":{"a":1},"secret":"***"}`
	if got != want {
		t.Errorf("RecordForm = %s, want %s", got, want)
	}
}
