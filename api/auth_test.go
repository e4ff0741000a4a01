package api

import (
	"encoding/base64"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestTokenRoundTrip(t *testing.T) {
	key := []byte("k1")
	now := time.Unix(1000, 0)
	for _, in := range []*token{
		{kind: kindApp, appKey: "org1#app1", expiry: 1001},
		{kind: kindUser, appKey: "o#a", user: "bob", expiry: 5000},
		{kind: kindUser, appKey: "o#a", user: "名字/with slash", expiry: 5000},
	} {
		s := mintToken(key, in)
		got, payload, mac, err := parseToken(s)
		if err != nil {
			t.Fatalf("parseToken(%q) = %v", s, err)
		}
		if *got != *in {
			t.Errorf("parseToken = %+v, want %+v", got, in)
		}
		if !got.verify(key, payload, mac, now) {
			t.Errorf("verify(%+v) = false, want true", in)
		}
		if got.verify([]byte("k2"), payload, mac, now) {
			t.Errorf("verify with another key = true")
		}
		if got.verify(key, payload, mac, time.Unix(in.expiry, 0)) {
			t.Errorf("verify at expiry = true")
		}
	}
}

func TestTokenMalformed(t *testing.T) {
	good := mintToken([]byte("k"), &token{kind: kindUser, appKey: "o#a", user: "u", expiry: 9})
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	enc := base64.RawURLEncoding.EncodeToString
	tests := map[string]string{
		"empty":          "",
		"not base64":     "***",
		"short":          enc(raw[:20]),
		"trailing bytes": enc(slices.Concat(raw[:len(raw)-32], []byte{0}, raw[len(raw)-32:])),
		"bad version":    enc(append([]byte{9}, raw[1:]...)),
		"bad kind":       enc(append([]byte{1, 'x'}, raw[2:]...)),
		"app with user":  enc(append([]byte{1, kindApp}, raw[2:]...)),
		"too long":       string(make([]byte, maxTokenChars+1)),
	}
	for name, s := range tests {
		if _, _, _, err := parseToken(s); err == nil {
			t.Errorf("parseToken(%s) = nil error, want malformed", name)
		}
	}
}

func TestAuthRules(t *testing.T) {
	h := newHarness(t)
	appA := h.appToken("org1", "appA")
	appB := h.appToken("org1", "appB")
	bob := h.userToken("org1", "appA", appA, "Bob")
	bobOfB := h.userToken("org1", "appB", appB, "bob")

	// forged names appB but is signed with appA's key.
	recA := h.be.apps["org1#appA"]
	forged := mintToken(recA.TokenKey, &token{kind: kindApp, appKey: "org1#appB",
		expiry: h.now.Unix() + 60})
	ghost := mintToken(recA.TokenKey, &token{kind: kindApp, appKey: "org1#none",
		expiry: h.now.Unix() + 60})
	tampered := []byte(appA)
	tampered[len(tampered)-3] ^= 'A' ^ 'B'

	const (
		binding = "/org1/appA/users/bob/push/binding"
		count   = "/org1/appA/users/bob/offline_msg_count"
	)
	tests := []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"app token", "GET", binding, appA, "", 200},
		{"no token", "GET", binding, "", "", 401},
		{"garbage", "GET", binding, "abc", "", 401},
		{"tampered", "GET", binding, string(tampered), "", 401},
		{"forged other app", "GET", "/org1/appB/users/bob/push/binding", forged, "", 401},
		{"unknown app in token", "GET", binding, ghost, "", 401},
		{"bootstrap on app", "GET", binding, bootstrap, "", 401},
		{"other app's token", "GET", binding, appB, "", 403},
		{"other app's token, missing app", "GET", "/org1/nope/push/notifiers", appB, "", 403},
		{"other app's user token", "GET", binding, bobOfB, "", 403},
		{"user token, own", "GET", binding, bob, "", 200},
		{"user token, own, other case", "GET", "/org1/appA/users/BOB/push/binding", bob, "",
			200},
		{"user token, own count", "GET", count, bob, "", 200},
		{"user token, other user", "GET", "/org1/appA/users/carol/push/binding", bob, "", 403},
		{"user token, other count", "GET", "/org1/appA/users/carol/offline_msg_count", bob,
			"", 403},
		{"user token, notifiers", "GET", "/org1/appA/push/notifiers", bob, "", 403},
		{"user token, presence", "PUT", "/org1/appA/users/bob/presence/d1", bob,
			`{"state":"online"}`, 403},
		{"user token, push", "POST", "/org1/appA/push/messages", bob, `{}`, 403},
		{"user token, inherit", "POST", "/org1/appA/token", bob,
			`{"grant_type":"inherit","username":"bob"}`, 403},
		{"app token, create app", "POST", "/management/orgs/org1/apps", appA,
			`{"name":"x"}`, 401},
		{"no token, create app", "POST", "/management/orgs/org1/apps", "", `{"name":"x"}`, 401},
		{"wrong bootstrap", "POST", "/management/orgs/org1/apps", bootstrap + "x",
			`{"name":"x"}`, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(tt.method, tt.path, tt.token, tt.body)
			switch tt.status {
			case 401:
				wantError(t, r, 401, "unauthorized", "Unable to authenticate (OAuth)")
			case 403:
				wantError(t, r, 403, "forbidden_op", "forbidden operation")
			default:
				if r.status != tt.status {
					t.Errorf("status = %d %s, want %d", r.status, r.raw, tt.status)
				}
			}
		})
	}
}

func TestAuthNotBearer(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1")
	for _, header := range []string{"Basic " + tok, tok, "Bearer", "Bearer  "} {
		r := h.doHeader("GET", "/org1/app1/push/notifiers", header)
		wantError(t, r, 401, "unauthorized", "")
	}
	if r := h.doHeader("GET", "/org1/app1/push/notifiers", "bearer "+tok); r.status != 200 {
		t.Errorf("lower-case scheme: %d", r.status)
	}
}

func TestBootstrapDisabled(t *testing.T) {
	h := newHarness(t)
	h.srv.opts.BootstrapToken = ""
	wantError(t, h.do("POST", "/management/orgs/org1/apps", "", `{"name":"a"}`), 401,
		"unauthorized", "")
	r := h.doHeader("POST", "/management/orgs/org1/apps", "Bearer ")
	wantError(t, r, 401, "unauthorized", "")
}

func TestTokenExpiry(t *testing.T) {
	h := newHarness(t)
	tok := h.appToken("org1", "app1") // TokenTTL is one hour
	path := "/org1/app1/push/notifiers"
	h.now = h.now.Add(time.Hour - time.Second)
	if r := h.do("GET", path, tok, ""); r.status != 200 {
		t.Fatalf("one second before expiry: %d %s", r.status, r.raw)
	}
	h.now = h.now.Add(time.Second)
	wantError(t, h.do("GET", path, tok, ""), 401, "unauthorized", "")
}

func TestClientCredentials(t *testing.T) {
	h := newHarness(t)
	id, secret := h.createApp("org1", "app1")
	uuid := h.be.apps["org1#app1"].Uuid
	body := func(id, secret, extra string) string {
		return fmt.Sprintf(`{"grant_type":"client_credentials","client_id":%q,`+
			`"client_secret":%q%s}`, id, secret, extra)
	}

	r := h.do("POST", "/org1/app1/token", "", body(id, secret, ""))
	if r.status != 200 || r.body["application"] != uuid || r.body["expires_in"] != 3600.0 {
		t.Fatalf("token = %d %s", r.status, r.raw)
	}
	if got := topKeys(t, r.raw); !slices.Equal(got,
		[]string{"access_token", "expires_in", "application"}) {
		t.Errorf("token keys = %v", got)
	}

	tests := []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"ttl", "/org1/app1/token", body(id, secret, `,"ttl":60`), 200, ""},
		{"wrong secret", "/org1/app1/token", body(id, secret+"x", ""), 401, ""},
		{"wrong id", "/org1/app1/token", body(id+"x", secret, ""), 401, ""},
		{"no secret", "/org1/app1/token",
			`{"grant_type":"client_credentials","client_id":"` + id + `"}`, 401, ""},
		{"other app", "/org1/app2/token", body(id, secret, ""), 401, ""},
		{"ttl zero", "/org1/app1/token", body(id, secret, `,"ttl":0`), 400, "ttl"},
		{"ttl negative", "/org1/app1/token", body(id, secret, `,"ttl":-5`), 400, "ttl"},
		{"ttl string", "/org1/app1/token", body(id, secret, `,"ttl":"60"`), 400, "ttl"},
		{"ttl fraction", "/org1/app1/token", body(id, secret, `,"ttl":1.5`), 400, "ttl"},
		{"no grant", "/org1/app1/token", `{"client_id":"x"}`, 400, "grant_type"},
		{"bad grant", "/org1/app1/token", `{"grant_type":"password"}`, 400, "grant_type"},
		{"grant number", "/org1/app1/token", `{"grant_type":1}`, 400, "grant_type"},
		{"unparsable", "/org1/app1/token", `{"grant_type":`, 400, "body"},
		{"array", "/org1/app1/token", `[]`, 400, "body"},
		{"empty", "/org1/app1/token", ``, 400, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("POST", tt.path, "", tt.body)
			switch tt.status {
			case 401:
				wantError(t, r, 401, "unauthorized", "")
			case 400:
				wantInvalid(t, r, tt.field)
			default:
				if r.status != 200 || r.body["expires_in"] != 60.0 {
					t.Errorf("answer %d %s", r.status, r.raw)
				}
			}
		})
	}
}

// TestTokenTTLCap: a requested ttl above the maximum gets the maximum, and
// the token really expires then.
func TestTokenTTLCap(t *testing.T) {
	h := newHarness(t) // MaxTokenTTL is 24 h
	appTok := h.appToken("org1", "app1")
	r := h.do("POST", "/org1/app1/token", appTok,
		`{"grant_type":"inherit","username":"bob","ttl":999999999}`)
	if r.status != 200 || r.body["expires_in"] != 86400.0 {
		t.Fatalf("capped token = %d %s", r.status, r.raw)
	}
	user := r.body["access_token"].(string)
	path := "/org1/app1/users/bob/push/binding"
	h.now = h.now.Add(24*time.Hour - time.Second)
	if r := h.do("GET", path, user, ""); r.status != 200 {
		t.Fatalf("before cap: %d", r.status)
	}
	h.now = h.now.Add(time.Second)
	wantError(t, h.do("GET", path, user, ""), 401, "unauthorized", "")
}

func TestDefaultTTLs(t *testing.T) {
	tests := []struct {
		ttl, max         time.Duration
		wantTTL, wantMax time.Duration
	}{
		{0, 0, 5184000 * time.Second, 5184000 * time.Second},
		{time.Hour, 0, time.Hour, 5184000 * time.Second},
		{48 * time.Hour, time.Hour, time.Hour, time.Hour},
	}
	for _, tt := range tests {
		s := New(Options{Backend: newFakeBackend(), TokenTTL: tt.ttl, MaxTokenTTL: tt.max})
		if s.opts.TokenTTL != tt.wantTTL || s.opts.MaxTokenTTL != tt.wantMax {
			t.Errorf("New(ttl %v, max %v) = %v, %v; want %v, %v", tt.ttl, tt.max,
				s.opts.TokenTTL, s.opts.MaxTokenTTL, tt.wantTTL, tt.wantMax)
		}
	}
}

func TestInherit(t *testing.T) {
	h := newHarness(t)
	appTok := h.appToken("org1", "app1")
	r := h.do("POST", "/org1/app1/token", appTok, `{"grant_type":"inherit","username":"BoB"}`)
	if r.status != 200 || r.body["expires_in"] != 3600.0 {
		t.Fatalf("inherit = %d %s", r.status, r.raw)
	}
	if got := topKeys(t, r.raw); !slices.Equal(got, []string{"access_token", "expires_in",
		"user"}) {
		t.Errorf("inherit keys = %v", got)
	}
	if u := r.body["user"].(map[string]any); u["username"] != "bob" || len(u) != 1 {
		t.Errorf("user = %v, want {username: bob}", u)
	}

	wantError(t, h.do("POST", "/org1/app1/token", "", `{"grant_type":"inherit",`+
		`"username":"bob"}`), 401, "unauthorized", "")
	wantInvalid(t, h.do("POST", "/org1/app1/token", appTok, `{"grant_type":"inherit"}`),
		"username")
	wantInvalid(t, h.do("POST", "/org1/app1/token", appTok,
		`{"grant_type":"inherit","username":7}`), "username")
	wantInvalid(t, h.do("POST", "/org1/app1/token", appTok,
		`{"grant_type":"inherit","username":"bob","ttl":-1}`), "ttl")
}

// FuzzParseToken: any input either fails to parse or re-encodes to itself.
func FuzzParseToken(f *testing.F) {
	f.Add(mintToken([]byte("k"), &token{kind: kindUser, appKey: "o#a", user: "u", expiry: 9}))
	f.Add(mintToken([]byte("k"), &token{kind: kindApp, appKey: "o#a", expiry: 1}))
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, s string) {
		tok, payload, mac, err := parseToken(s)
		if err != nil {
			return
		}
		again := base64.RawURLEncoding.EncodeToString(append(tok.payload(), mac...))
		if again != s || string(payload) != string(tok.payload()) {
			t.Errorf("parseToken(%q) re-encodes to %q", s, again)
		}
	})
}
