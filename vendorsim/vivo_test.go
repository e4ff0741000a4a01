package vendorsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vivoCall posts a JSON body to a vivo path and decodes the answer.
func vivoCall(t *testing.T, c *http.Client, sim *Sim, path, authToken string,
	body any) (int, map[string]any, http.Header) {

	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", sim.Endpoint(VendorVivo)+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if authToken != "" {
		req.Header.Set("authToken", authToken)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var ans map[string]any
	if err := json.Unmarshal(data, &ans); err != nil {
		t.Fatalf("answer %q: %v", data, err)
	}
	return resp.StatusCode, ans, resp.Header
}

func vivoAuthBody(f map[string]string, ts int64, secret string) map[string]any {
	app := vivoApp{AppID: f["app_id"], AppKey: f["app_key"], AppSecret: secret}
	return map[string]any{"appId": f["app_id"], "appKey": f["app_key"], "timestamp": ts,
		"sign": vivoSign(app, ts)}
}

// vivoLogin fetches an authToken for the generated app.
func vivoLogin(t *testing.T, c *http.Client, sim *Sim, f map[string]string) string {
	t.Helper()
	_, ans, _ := vivoCall(t, c, sim, vivoAuthPath, "",
		vivoAuthBody(f, time.Now().UnixMilli(), f["app_secret"]))
	tok, _ := ans["authToken"].(string)
	if ans["result"] != 0.0 || tok == "" {
		t.Fatalf("auth: %v", ans)
	}
	return tok
}

func TestVivoAuth(t *testing.T) {
	sim, creds := startSim(t)
	f := creds.Vendors[VendorVivo]
	c := fakeClient(t, sim, true)
	now := time.Now().UnixMilli()

	numeric := vivoAuthBody(f, now, f["app_secret"])
	id, _ := strconv.Atoi(f["app_id"])
	numeric["appId"] = id
	wrongKey := vivoAuthBody(f, now, f["app_secret"])
	wrongKey["appKey"] = "nope"
	foreign := vivoAuthBody(map[string]string{"app_id": "1", "app_key": f["app_key"]}, now,
		f["app_secret"])

	tests := []struct {
		name string
		body map[string]any
		want float64
	}{
		{"good", vivoAuthBody(f, now, f["app_secret"]), 0},
		{"numeric app id", numeric, 0},
		{"wrong secret", vivoAuthBody(f, now, "x"), vivoAuthRefused},
		{"stale timestamp", vivoAuthBody(f, now-11*60*1000, f["app_secret"]), vivoAuthRefused},
		{"future timestamp", vivoAuthBody(f, now+11*60*1000, f["app_secret"]), vivoAuthRefused},
		{"wrong app key", wrongKey, vivoAuthRefused},
		{"unknown app", foreign, vivoAppMismatch},
	}
	for _, tt := range tests {
		status, ans, _ := vivoCall(t, c, sim, vivoAuthPath, "", tt.body)
		if status != 200 || ans["result"] != tt.want {
			t.Errorf("%s: %d %v, want result %v", tt.name, status, ans, tt.want)
		}
		if tok, _ := ans["authToken"].(string); (tt.want == 0) != (tok != "") {
			t.Errorf("%s: authToken %q", tt.name, tok)
		}
	}
	if got := sim.Counters()[VendorVivo].TokenFetches; got != uint64(len(tests)) {
		t.Errorf("token fetches = %d, want %d", got, len(tests))
	}
}

// vivoGoodMessage is a message the emulator accepts.
func vivoGoodMessage(appID, regID string) map[string]any {
	return map[string]any{"appId": appID, "regId": regID, "notifyType": 4,
		"title": "您有一条新消息", "content": "请点击查看", "timeToLive": 86400, "skipType": 1,
		"classification": 1, "requestId": "req-1", "pushMode": 0,
		"clientCustomMap": map[string]string{"f": "alice"}}
}

func TestVivoSendChecks(t *testing.T) {
	sim, creds := startSim(t)
	f := creds.Vendors[VendorVivo]
	c := fakeClient(t, sim, true)
	tok := vivoLogin(t, c, sim, f)

	many := map[string]string{}
	for i := range 11 {
		many[strconv.Itoa(i)] = "v"
	}
	tests := []struct {
		name    string
		token   string
		edit    func(m map[string]any)
		result  float64
		outcome string
	}{
		{"accepted", tok, func(map[string]any) {}, 0, OutcomeDelivered},
		{"no authToken", "", func(map[string]any) {}, vivoAuthRefused, OutcomeCredentialError},
		{"unknown authToken", "forged", func(map[string]any) {}, vivoAuthRefused,
			OutcomeCredentialError},
		{"foreign app", tok, func(m map[string]any) { m["appId"] = "1" }, vivoAppMismatch,
			OutcomeCredentialError},
		{"title 41 units", tok, func(m map[string]any) {
			m["title"] = strings.Repeat("标", 20) + "x"
		}, vivoBadTitle, OutcomePayloadError},
		{"title 40 units", tok, func(m map[string]any) { m["title"] = strings.Repeat("标", 20) },
			0, OutcomeDelivered},
		{"empty content", tok, func(m map[string]any) { m["content"] = "" }, vivoBadContent,
			OutcomePayloadError},
		{"content 101 units", tok, func(m map[string]any) { m["content"] = strings.Repeat("a", 101) },
			vivoBadContent, OutcomePayloadError},
		{"notifyType 5", tok, func(m map[string]any) { m["notifyType"] = 5 }, vivoBadNotify,
			OutcomePayloadError},
		{"ttl too short", tok, func(m map[string]any) { m["timeToLive"] = 899 }, vivoBadTTL,
			OutcomePayloadError},
		{"activity without content", tok, func(m map[string]any) { m["skipType"] = 4 },
			vivoBadSkip, OutcomePayloadError},
		{"classification 2", tok, func(m map[string]any) { m["classification"] = 2 },
			vivoBadClass, OutcomePayloadError},
		{"unknown category", tok, func(m map[string]any) { m["category"] = "GOSSIP" },
			vivoBadCategory, OutcomePayloadError},
		{"requestId 65", tok, func(m map[string]any) { m["requestId"] = strings.Repeat("r", 65) },
			vivoBadRequestID, OutcomePayloadError},
		{"pushMode 2", tok, func(m map[string]any) { m["pushMode"] = 2 }, vivoBadPushMode,
			OutcomePayloadError},
		{"11 custom pairs", tok, func(m map[string]any) { m["clientCustomMap"] = many },
			vivoBadCustom, OutcomePayloadError},
	}
	for i, tt := range tests {
		reg := "regid-" + strconv.Itoa(i)
		m := vivoGoodMessage(f["app_id"], reg)
		tt.edit(m)
		status, ans, _ := vivoCall(t, c, sim, vivoSendPath, tt.token, m)
		if status != 200 || ans["result"] != tt.result {
			t.Errorf("%s: %d %v, want result %v", tt.name, status, ans, tt.result)
		}
		if _, ok := ans["taskId"]; ok != (tt.result == 0) {
			t.Errorf("%s: taskId present = %v", tt.name, ok)
		}
		if r := waitOne(t, sim, Filter{Vendor: VendorVivo, Token: reg}); r.Outcome != tt.outcome {
			t.Errorf("%s: recorded outcome %q, want %q", tt.name, r.Outcome, tt.outcome)
		}
	}
}

func TestVivoMagicTokensOverBothProtocols(t *testing.T) {
	sim, creds := startSim(t)
	f := creds.Vendors[VendorVivo]
	for _, h2 := range []bool{false, true} {
		sim.Reset()
		c := fakeClient(t, sim, h2)
		tok := vivoLogin(t, c, sim, f)
		tests := []struct {
			token      string
			status     int
			result     float64
			retryAfter string
		}{
			{"dead-1", 200, vivoBadRegID, ""},
			{"baddev-1", 200, vivoBadRegID, ""},
			{"throttle-1", 429, 429, "1"},
			{"fail-1", 500, 500, ""},
			{"flaky-1", 503, 503, "1"},
			{"flaky-1", 200, 0, ""}, // the same push again
		}
		for _, tt := range tests {
			status, ans, hdr := vivoCall(t, c, sim, vivoSendPath, tok,
				vivoGoodMessage(f["app_id"], tt.token))
			if status != tt.status || ans["result"] != tt.result ||
				hdr.Get("Retry-After") != tt.retryAfter {
				t.Errorf("h2=%v %s: %d %v %q", h2, tt.token, status, ans, hdr.Get("Retry-After"))
			}
			if tt.result == vivoBadRegID && ans["desc"] != "regId is invalid" {
				t.Errorf("dead desc = %v", ans["desc"])
			}
		}
		r := waitOne(t, sim, Filter{Vendor: VendorVivo, Token: "dead-1"})
		if r.Headers["authtoken"] != "***" || r.Auth.Subject != f["app_id"] ||
			r.Outcome != OutcomeTokenInvalid || r.VendorCode != "10302" {
			t.Errorf("dead record = %+v", r)
		}
	}
}

func TestVivoLoadCreds(t *testing.T) {
	for _, doc := range []string{
		"vivo:\n  apps:\n  - app_key: k\n    app_secret: s\n",
		"vivo:\n  apps:\n  - app_id: '1'\n    app_secret: s\n",
		"vivo:\n  daily_quota: -1\n",
	} {
		path := t.TempDir() + "/v.yaml"
		if err := writeFile(path, doc); err != nil {
			t.Fatal(err)
		}
		if _, err := Start(Config{CredsFile: path}); err == nil ||
			!strings.Contains(err.Error(), "vivo") {
			t.Errorf("config %q: err = %v, want a vivo field error", doc, err)
		}
	}
}

func TestDailyQuotaDay(t *testing.T) {
	q := newDailyQuota(1)
	// 15:59 UTC is 23:59 in Shanghai; 16:00 UTC is the next day there.
	day := time.Date(2026, 1, 1, 15, 59, 0, 0, time.UTC)
	if !q.take("a", day) || q.take("a", day) {
		t.Error("first push of the day refused or second accepted")
	}
	if !q.take("b", day) {
		t.Error("quota is per app")
	}
	if !q.take("a", day.Add(time.Minute)) {
		t.Error("the cap did not end at 00:00 Asia/Shanghai")
	}
}
