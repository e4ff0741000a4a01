package vendorsim

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"golang.org/x/net/http2"
)

// fcmTestAccount is the generated service account with its parsed key.
type fcmTestAccount struct {
	ProjectID    string `json:"project_id"`
	ClientEmail  string `json:"client_email"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	TokenURI     string `json:"token_uri"`
	key          *rsa.PrivateKey
}

func fcmAccountOf(t *testing.T, creds *Creds) fcmTestAccount {
	t.Helper()
	var a fcmTestAccount
	if err := json.Unmarshal([]byte(creds.Vendors[VendorFCM]["service_account"]), &a); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(a.PrivateKey))
	if block == nil {
		t.Fatal("service account key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	a.key = k.(*rsa.PrivateKey)
	return a
}

// assertion signs a JWT bearer grant for a; patch replaces claims (nil
// removes one).
func (a fcmTestAccount) assertion(t *testing.T, sim *Sim, patch map[string]any) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{"iss": a.ClientEmail, "scope": fcmScope,
		"aud": sim.Endpoint(VendorFCM) + "/token", "iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix()}
	for k, v := range patch {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = a.PrivateKeyID
	s, err := tok.SignedString(a.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fcmTokenRequest posts a grant and returns the status and answer.
func fcmTokenRequest(t *testing.T, c *http.Client, sim *Sim, grant, assertion string) (
	int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {grant}, "assertion": {assertion}}
	resp, err := c.PostForm(sim.Endpoint(VendorFCM)+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func fcmAccessToken(t *testing.T, c *http.Client, sim *Sim, a fcmTestAccount) string {
	t.Helper()
	code, out := fcmTokenRequest(t, c, sim, fcmJWTGrant, a.assertion(t, sim, nil))
	tok, _ := out["access_token"].(string)
	if code != 200 || tok == "" || out["token_type"] != "Bearer" ||
		out["expires_in"] != float64(3599) {
		t.Fatalf("token answer %d %v", code, out)
	}
	return tok
}

// fcmReply is a decoded send answer.
type fcmReply struct {
	status     int
	retryAfter string
	Name       string `json:"name"`
	Error      struct {
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Details []struct {
			Type       string `json:"@type"`
			ErrorCode  string `json:"errorCode"`
			Violations []struct {
				Field string `json:"field"`
			} `json:"fieldViolations"`
		} `json:"details"`
	} `json:"error"`
}

// code is the FcmError code, else the status.
func (r fcmReply) code() string {
	for _, d := range r.Error.Details {
		if d.Type == fcmTypeFcmError {
			return d.ErrorCode
		}
	}
	return r.Error.Status
}

func (r fcmReply) field() string {
	for _, d := range r.Error.Details {
		if d.Type == fcmTypeBadRequest && len(d.Violations) > 0 {
			return d.Violations[0].Field
		}
	}
	return ""
}

func fcmSend(t *testing.T, c *http.Client, sim *Sim, project, bearer, body string) fcmReply {
	t.Helper()
	req, err := http.NewRequest("POST", sim.Endpoint(VendorFCM)+"/v1/projects/"+project+
		"/messages:send", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := fcmReply{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("answer %d %q: %v", resp.StatusCode, raw, err)
	}
	return r
}

func fcmBody(token, extra string) string {
	return `{"message":{"token":"` + token + `","notification":{"title":"T","body":"B"},` +
		`"data":{"m":"m1"},"android":{"priority":"HIGH","ttl":"86400s",` +
		`"notification":{"sound":"default","notification_count":1,"tag":"m1"}}` + extra + `}}`
}

func TestFCMTokenEndpoint(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	a := fcmAccountOf(t, creds)
	if a.TokenURI != fcmGoogleTokenURL {
		t.Errorf("token_uri = %q, want Google's", a.TokenURI)
	}
	fcmAccessToken(t, c, sim, a)
	now := time.Now()

	// Google's own token URL is an accepted audience too.
	code, _ := fcmTokenRequest(t, c, sim, fcmJWTGrant,
		a.assertion(t, sim, map[string]any{"aud": fcmGoogleTokenURL}))
	if code != 200 {
		t.Errorf("aud = Google's token URL: %d, want 200", code)
	}

	other := a
	otherCreds, err := GenCreds(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other.key = fcmAccountOf(t, otherCreds).key
	refusals := []struct {
		name      string
		grant     string
		assertion string
	}{
		{"wrong grant", "client_credentials", a.assertion(t, sim, nil)},
		{"garbage", fcmJWTGrant, "not.a.jwt"},
		{"unknown account", fcmJWTGrant, a.assertion(t, sim,
			map[string]any{"iss": "nobody@x.iam.gserviceaccount.com"})},
		{"wrong key", fcmJWTGrant, other.assertion(t, sim, nil)},
		{"other audience", fcmJWTGrant, a.assertion(t, sim,
			map[string]any{"aud": "https://example.com/token"})},
		{"lifetime over an hour", fcmJWTGrant, a.assertion(t, sim,
			map[string]any{"exp": now.Add(61 * time.Minute).Unix()})},
		{"expired", fcmJWTGrant, a.assertion(t, sim, map[string]any{
			"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})},
		{"no iat", fcmJWTGrant, a.assertion(t, sim, map[string]any{"iat": nil})},
		{"no scope", fcmJWTGrant, a.assertion(t, sim, map[string]any{"scope": nil})},
	}
	for _, tt := range refusals {
		code, out := fcmTokenRequest(t, c, sim, tt.grant, tt.assertion)
		want := "invalid_grant"
		if tt.grant != fcmJWTGrant {
			want = "unsupported_grant_type"
		}
		if code != 400 || out["error"] != want {
			t.Errorf("%s: %d %v, want 400 %s", tt.name, code, out, want)
		}
	}
	if got := sim.Counters()[VendorFCM].TokenFetches; got != uint64(len(refusals)+2) {
		t.Errorf("token fetches = %d, want %d", got, len(refusals)+2)
	}
}

func TestFCMSendAuth(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	a := fcmAccountOf(t, creds)
	tok := fcmAccessToken(t, c, sim, a)

	r := fcmSend(t, c, sim, a.ProjectID, tok, fcmBody("tok-1", ""))
	if r.status != 200 || !strings.HasPrefix(r.Name, "projects/"+a.ProjectID+"/messages/") {
		t.Fatalf("send: %+v", r)
	}
	rec := waitOne(t, sim, Filter{Vendor: VendorFCM, Token: "tok-1"})
	if rec.App != a.ProjectID || rec.Auth.Subject != a.ClientEmail ||
		rec.Headers["authorization"] != "Bearer ***" || rec.Outcome != OutcomeDelivered {
		t.Errorf("record = %+v", rec)
	}

	if r := fcmSend(t, c, sim, a.ProjectID, "unknown", fcmBody("tok-2", "")); r.status != 401 ||
		r.code() != fcmStatusUnauthenticated || len(r.Error.Details) != 0 {
		t.Errorf("unknown bearer: %+v, want plain 401 UNAUTHENTICATED", r)
	}
	if r := fcmSend(t, c, sim, "other-project", tok, fcmBody("tok-3", "")); r.status != 403 ||
		r.code() != fcmStatusPermission {
		t.Errorf("other project: %+v, want 403 PERMISSION_DENIED", r)
	}
	if !sim.ExpireVendorTokens(VendorFCM) {
		t.Fatal("no fcm vendor")
	}
	if r := fcmSend(t, c, sim, a.ProjectID, tok, fcmBody("tok-4", "")); r.status != 401 {
		t.Errorf("expired bearer: %+v, want 401", r)
	}
	outcomes := map[string]string{"tok-2": OutcomeCredentialError,
		"tok-3": OutcomeCredentialError, "tok-4": OutcomeCredentialError}
	for tok, want := range outcomes {
		if rec := waitOne(t, sim, Filter{Token: tok}); rec.Outcome != want {
			t.Errorf("%s outcome %q, want %q", tok, rec.Outcome, want)
		}
	}
}

func TestFCMPayloadRules(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	a := fcmAccountOf(t, creds)
	tok := fcmAccessToken(t, c, sim, a)
	big := strings.Repeat("x", fcmMaxPayload)

	tests := []struct {
		name, body, field string
	}{
		{"not json", `{"message":`, ""},
		{"no message", `{}`, "message"},
		{"unknown top-level key", `{"message":{"token":"t"},"dry":true}`, ""},
		{"unknown message key", `{"message":{"token":"t","badge":1}}`, "message"},
		{"no target", `{"message":{"notification":{"title":"T"}}}`, "message"},
		{"two targets", `{"message":{"token":"t","topic":"news"}}`, "message"},
		{"bad token", `{"message":{"token":"a b"}}`, "message.token"},
		{"token not a string", `{"message":{"token":5}}`, "message.token"},
		{"reserved data key", `{"message":{"token":"t","data":{"from":"x"}}}`,
			"message.data"},
		{"google. data key", `{"message":{"token":"t","data":{"google.x":"y"}}}`,
			"message.data"},
		{"number data value", `{"message":{"token":"t","data":{"n":1}}}`,
			"message.data[n].value"},
		{"bad priority", `{"message":{"token":"t","android":{"priority":"URGENT"}}}`,
			"message.android.priority"},
		{"ttl without s", `{"message":{"token":"t","android":{"ttl":"86400"}}}`,
			"message.android.ttl"},
		{"ttl too long", `{"message":{"token":"t","android":{"ttl":"2419201s"}}}`,
			"message.android.ttl"},
		{"negative count", `{"message":{"token":"t","android":{"notification":` +
			`{"notification_count":-1}}}}`, "message.android.notification.notification_count"},
		{"unknown android key", `{"message":{"token":"t","android":{"badge":1}}}`,
			"message.android"},
		{"bad analytics label", `{"message":{"token":"t","fcm_options":` +
			`{"analytics_label":"a b"}}}`, "message.fcm_options.analytics_label"},
		{"too big", `{"message":{"token":"t","data":{"e":"` + big + `"}}}`, "message"},
		{"topic over 2048", `{"message":{"topic":"news","data":{"e":"` + big[:2100] + `"}}}`,
			"message"},
	}
	for _, tt := range tests {
		r := fcmSend(t, c, sim, a.ProjectID, tok, tt.body)
		if r.status != 400 || r.code() != fcmStatusInvalidArgument {
			t.Errorf("%s: %d %s, want 400 INVALID_ARGUMENT", tt.name, r.status, r.code())
			continue
		}
		if tt.field != "" && r.field() != tt.field {
			t.Errorf("%s: field %q, want %q", tt.name, r.field(), tt.field)
		}
	}

	accepted := []struct{ name, body string }{
		{"lowercase priority", `{"message":{"token":"t","android":{"priority":"normal",` +
			`"ttl":"0.5s"}}}`},
		{"validate only", `{"validate_only":true,"message":{"token":"t"}}`},
		{"topic", `{"message":{"topic":"news","notification":{"title":"T"}}}`},
		{"fcm options", fcmBody("t", `,"fcm_options":{"analytics_label":"chat_1"}`)},
		{"at the limit", `{"message":{"token":"t","data":{"e":"` +
			big[:fcmMaxPayload-len(`{"message":{"token":"","data":{"e":""}}}`)] + `"}}}`},
	}
	for _, tt := range accepted {
		if r := fcmSend(t, c, sim, a.ProjectID, tok, tt.body); r.status != 200 {
			t.Errorf("%s: %d %s %s, want 200", tt.name, r.status, r.code(), r.field())
		}
	}
}

func TestFCMMagicTokens(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	a := fcmAccountOf(t, creds)
	tok := fcmAccessToken(t, c, sim, a)

	tests := []struct {
		token      string
		status     int
		code       string
		field      string
		retryAfter string
		outcome    string
	}{
		{"dead-1", 404, fcmCodeUnregistered, "", "", OutcomeTokenInvalid},
		{"baddev-1", 400, fcmStatusInvalidArgument, "message.token", "", OutcomeTokenInvalid},
		{"throttle-1", 429, fcmCodeQuotaExceeded, "", "1", OutcomeThrottled},
		{"throttle-1", 429, fcmCodeQuotaExceeded, "", "1", OutcomeThrottled},
		{"fail-1", 500, fcmStatusInternal, "", "", OutcomeRetryable},
		{"flaky-1", 503, fcmStatusUnavailable, "", "1", OutcomeRetryable},
		{"flaky-1", 200, "", "", "", OutcomeDelivered},
		{"refuse-1", 503, fcmStatusUnavailable, "", "1", OutcomeRetryable},
		{"refuse-1", 200, "", "", "", OutcomeDelivered},
	}
	for i, tt := range tests {
		r := fcmSend(t, c, sim, a.ProjectID, tok, fcmBody(tt.token, ""))
		if r.status != tt.status || (tt.code != "" && r.code() != tt.code) ||
			r.field() != tt.field || r.retryAfter != tt.retryAfter {
			t.Errorf("%d %s: %d %s %q retry-after %q", i, tt.token, r.status, r.code(),
				r.field(), r.retryAfter)
		}
		recs := sim.Received(Filter{Token: tt.token})
		if last := recs[len(recs)-1]; last.Outcome != tt.outcome {
			t.Errorf("%d %s: outcome %q, want %q", i, tt.token, last.Outcome, tt.outcome)
		}
	}
}

func TestFCMHTTP2Only(t *testing.T) {
	sim, _ := startSim(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CAPEM())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	if resp, err := c.Post(sim.Endpoint(VendorFCM)+"/token", "text/plain", nil); err == nil {
		resp.Body.Close()
		t.Fatalf("HTTP/1.1 client got %s, want the connection dropped", resp.Status)
	}
}

func TestFCMQuotaPerMinute(t *testing.T) {
	dir := t.TempDir()
	creds, err := GenCreds(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(creds.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	// Add the knob to the generated fcm section.
	text := strings.Replace(string(raw), "\nfcm:\n", "\nfcm:\n    quota_per_minute: 2\n", 1)
	if text == string(raw) {
		t.Fatalf("no fcm section in\n%s", raw)
	}
	cfg := filepath.Join(dir, "quota.yaml")
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	sim, err := Start(Config{CredsFile: cfg, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	c := h2Client(t, sim)
	a := fcmAccountOf(t, creds)
	tok := fcmAccessToken(t, c, sim, a)
	for i, want := range []int{200, 200, 429, 429} {
		r := fcmSend(t, c, sim, a.ProjectID, tok, fcmBody(fmt.Sprint("q", i), ""))
		if r.status != want {
			t.Errorf("send %d: %d, want %d", i, r.status, want)
		}
	}
	sim.Reset()
	tok = fcmAccessToken(t, c, sim, a)
	if r := fcmSend(t, c, sim, a.ProjectID, tok, fcmBody("after-reset", "")); r.status != 200 {
		t.Errorf("after reset: %d, want 200", r.status)
	}
}

func TestFCMLoadCreds(t *testing.T) {
	for _, bad := range []string{
		"projects: [{project_id: ''}]",
		"projects: [{project_id: p, accounts: [{client_email: a, public_key: nope}]}]",
		"projects: [{project_id: p}, {project_id: p}]",
		"quota_per_minute: -1",
	} {
		path := filepath.Join(t.TempDir(), "v.yaml")
		if err := os.WriteFile(path, []byte("fcm:\n  "+strings.ReplaceAll(bad, "\n", "\n  ")),
			0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := loadCreds(path); err == nil || !strings.Contains(err.Error(), "fcm") {
			t.Errorf("%q: err = %v, want an fcm error", bad, err)
		}
	}
}

// TestFCMAdvertisesStreams reads the server's first SETTINGS frame: FCM
// announces 100 concurrent streams.
func TestFCMAdvertisesStreams(t *testing.T) {
	sim, _ := startSim(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CAPEM())
	host := strings.TrimPrefix(sim.Endpoint(VendorFCM), "https://")
	conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: pool,
		NextProtos: []string{http2.NextProtoTLS}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok {
		t.Fatalf("first frame %v, want SETTINGS", f)
	}
	if v, ok := sf.Value(http2.SettingMaxConcurrentStreams); !ok || v != fcmStreams {
		t.Errorf("MAX_CONCURRENT_STREAMS = %d (%v), want %d", v, ok, fcmStreams)
	}
}
