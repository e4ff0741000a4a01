package vendorsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// oauthToken fetches an access token from a Huawei-family token endpoint.
func oauthToken(t *testing.T, c *http.Client, tokenURL, id, secret string) (int, map[string]any) {
	t.Helper()
	resp, err := c.PostForm(tokenURL, url.Values{"grant_type": {"client_credentials"},
		"client_id": {id}, "client_secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("token answer: %v", err)
	}
	return resp.StatusCode, out
}

// hwPost sends a JSON body with a bearer token and returns status, body
// and the Retry-After header.
func hwPost(t *testing.T, c *http.Client, u, bearer string, headers map[string]string,
	body string) (int, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	req.Header.Set("Authorization", "Bearer "+bearer)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer %d is not JSON: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, out, resp.Header.Get("Retry-After")
}

// hwBody is a valid Huawei send body for tokens with the android part
// changed by edit, if given.
func hwBody(tokens []string, edit func(a map[string]any)) string {
	a := map[string]any{"urgency": "NORMAL", "ttl": "86400s", "target_user_type": 0,
		"notification": map[string]any{"title": "Hi", "body": "there",
			"click_action": map[string]any{"type": 3}, "default_sound": true, "tag": "m1"}}
	if edit != nil {
		edit(a)
	}
	b, _ := json.Marshal(map[string]any{"validate_only": false, "message": map[string]any{
		"token": tokens, "data": `{"f":"alice"}`, "android": a}})
	return string(b)
}

func TestHuaweiTokenEndpoint(t *testing.T) {
	sim, creds := startSim(t)
	f := creds.Vendors[VendorHuawei]
	base := sim.Endpoint(VendorHuawei)
	c := fakeClient(t, sim, true)

	status, out := oauthToken(t, c, base+huaweiTokenPath, f["client_id"], f["client_secret"])
	if status != 200 || out["access_token"] == "" || out["expires_in"] != 3600.0 ||
		out["token_type"] != "Bearer" {
		t.Fatalf("token: %d %v", status, out)
	}
	status, out = oauthToken(t, c, base+huaweiTokenPath, f["client_id"], "wrong")
	if status != 400 || out["error"] != "invalid_client" || out["error_description"] == nil {
		t.Errorf("wrong secret: %d %v, want 400 invalid_client", status, out)
	}
	if got := sim.Counters()[VendorHuawei].TokenFetches; got != 2 {
		t.Errorf("token fetches = %d, want 2", got)
	}
}

func TestHuaweiSend(t *testing.T) {
	sim, creds := startSim(t)
	f := creds.Vendors[VendorHuawei]
	base := sim.Endpoint(VendorHuawei)
	v2 := base + "/v2/" + f["project_id"] + "/messages:send"
	v1 := base + "/v1/" + f["client_id"] + "/messages:send"

	for _, h2 := range []bool{true, false} {
		c := fakeClient(t, sim, h2)
		_, out := oauthToken(t, c, base+huaweiTokenPath, f["client_id"], f["client_secret"])
		bearer := out["access_token"].(string)

		tests := []struct {
			name     string
			url      string
			bearer   string
			body     string
			status   int
			code     string
			outcome  string
			retryAft bool
		}{
			{"v2 ok", v2, bearer, hwBody([]string{"tok-a"}, nil), 200, hwSuccess,
				OutcomeDelivered, false},
			{"v1 ok", v1, bearer, hwBody([]string{"tok-b"}, nil), 200, hwSuccess,
				OutcomeDelivered, false},
			{"unknown bearer", v2, "nope", hwBody([]string{"tok-c"}, nil), 401,
				hwAuthUnknown, OutcomeCredentialError, false},
			{"other project", base + "/v2/123/messages:send", bearer,
				hwBody([]string{"tok-d"}, nil), 403, hwNoPermission,
				OutcomeCredentialError, false},
			{"dead alone", v2, bearer, hwBody([]string{"dead-1"}, nil), 200, hwBadToken,
				OutcomeTokenInvalid, false},
			{"dead among good", v2, bearer, hwBody([]string{"good-1", "dead-2"}, nil), 200,
				hwPartial, OutcomeDelivered, false},
			{"fail", v2, bearer, hwBody([]string{"fail-1"}, nil), 500, hwInternal,
				OutcomeRetryable, false},
			{"throttle", v2, bearer, hwBody([]string{"throttle-1"}, nil), 503,
				hwFlowControl, OutcomeThrottled, true},
			{"HIGH without category", v2, bearer, hwBody([]string{"tok-e"},
				func(a map[string]any) { a["urgency"] = "HIGH" }), 400, hwHighNoCategory,
				OutcomePayloadError, false},
			{"HIGH with category", v2, bearer, hwBody([]string{"tok-f"},
				func(a map[string]any) { a["urgency"], a["category"] = "HIGH", "IM" }), 200,
				hwSuccess, OutcomeDelivered, false},
			{"ttl too long", v2, bearer, hwBody([]string{"tok-g"},
				func(a map[string]any) { a["ttl"] = "1296001s" }), 400, hwBadTTL,
				OutcomePayloadError, false},
			{"no click action", v2, bearer, hwBody([]string{"tok-h"}, func(a map[string]any) {
				delete(a["notification"].(map[string]any), "click_action")
			}), 400, hwBadStructure, OutcomePayloadError, false},
			{"data not a string", v2, bearer,
				`{"message":{"token":["tok-i"],"data":{"f":1}}}`, 400, hwBadStructure,
				OutcomePayloadError, false},
			{"no token", v2, bearer, hwBody([]string{}, nil), 400, hwBadParams,
				OutcomePayloadError, false},
			{"too many tokens", v2, bearer, hwBody(manyTokens(1001), nil), 400,
				hwTooManyTokens, OutcomePayloadError, false},
			{"too large", v2, bearer, hwBody([]string{"tok-j"}, func(a map[string]any) {
				a["notification"].(map[string]any)["body"] = strings.Repeat("x", 4000)
			}), 400, hwTooLarge, OutcomePayloadError, false},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("h2=%v/%s", h2, tt.name), func(t *testing.T) {
				sim.Reset()
				if tt.bearer == bearer {
					// Reset forgot the token: fetch a fresh one.
					_, out := oauthToken(t, c, base+huaweiTokenPath, f["client_id"],
						f["client_secret"])
					tt.bearer = out["access_token"].(string)
				}
				status, out, ra := hwPost(t, c, tt.url, tt.bearer, nil, tt.body)
				if status != tt.status || out["code"] != tt.code {
					t.Fatalf("answer %d %v, want %d %s", status, out, tt.status, tt.code)
				}
				if tt.retryAft != (ra == "1") {
					t.Errorf("Retry-After = %q", ra)
				}
				rec := waitOne(t, sim, Filter{Vendor: VendorHuawei})
				if rec.Outcome != tt.outcome || rec.VendorCode != tt.code {
					t.Errorf("record outcome %q code %q, want %q %q", rec.Outcome,
						rec.VendorCode, tt.outcome, tt.code)
				}
				if tt.code == hwPartial && !strings.Contains(out["msg"].(string),
					`"illegal_tokens":["dead-2"]`) {
					t.Errorf("partial msg = %v, want dead-2 listed", out["msg"])
				}
			})
		}
	}
}

func manyTokens(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("tok-%d", i)
	}
	return out
}

func TestHuaweiExpiredAndFlaky(t *testing.T) {
	sim, creds := startSim(t)
	f := creds.Vendors[VendorHuawei]
	base := sim.Endpoint(VendorHuawei)
	v2 := base + "/v2/" + f["project_id"] + "/messages:send"
	c := fakeClient(t, sim, true)
	_, out := oauthToken(t, c, base+huaweiTokenPath, f["client_id"], f["client_secret"])
	bearer := out["access_token"].(string)

	if !sim.ExpireVendorTokens(VendorHuawei) {
		t.Fatal("ExpireVendorTokens: huawei not running")
	}
	status, ans, _ := hwPost(t, c, v2, bearer, nil, hwBody([]string{"tok"}, nil))
	if status != 401 || ans["code"] != hwAuthExpired {
		t.Errorf("expired bearer: %d %v, want 401 %s", status, ans, hwAuthExpired)
	}

	_, out = oauthToken(t, c, base+huaweiTokenPath, f["client_id"], f["client_secret"])
	bearer = out["access_token"].(string)
	body := hwBody([]string{"flaky-1"}, nil)
	status, ans, ra := hwPost(t, c, v2, bearer, nil, body)
	if status != 500 || ans["code"] != hwInternal || ra != "1" {
		t.Errorf("flaky first: %d %v Retry-After %q, want 500 %s 1", status, ans,
			hwInternal, ra)
	}
	status, ans, _ = hwPost(t, c, v2, bearer, nil, body)
	if status != 200 || ans["code"] != hwSuccess {
		t.Errorf("flaky second: %d %v, want 200 %s", status, ans, hwSuccess)
	}
}

func TestHuaweiHang(t *testing.T) {
	sim, creds := startSim(t)
	f := creds.Vendors[VendorHuawei]
	base := sim.Endpoint(VendorHuawei)
	c := fakeClient(t, sim, true)
	_, out := oauthToken(t, c, base+huaweiTokenPath, f["client_id"], f["client_secret"])

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST",
		base+"/v2/"+f["project_id"]+"/messages:send",
		bytes.NewReader([]byte(hwBody([]string{"hang-1"}, nil))))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+out["access_token"].(string))
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("hang token answered %d", resp.StatusCode)
	}
	rec := waitOne(t, sim, Filter{Vendor: VendorHuawei})
	if rec.Status != 0 || rec.VendorCode != codeHang {
		t.Errorf("hang record = %d %q, want no answer", rec.Status, rec.VendorCode)
	}
}

func TestHuaweiFaultTokenTTL(t *testing.T) {
	sim, creds := startSim(t)
	f := creds.Vendors[VendorHuawei]
	tokenURL := sim.Endpoint(VendorHuawei) + huaweiTokenPath
	c := fakeClient(t, sim, true)

	ttl := Duration(90 * time.Second)
	if err := sim.SetFaults(FaultSet{Vendors: map[string]Faults{
		VendorHuawei: {TokenTTL: ttl}}}); err != nil {
		t.Fatal(err)
	}
	_, out := oauthToken(t, c, tokenURL, f["client_id"], f["client_secret"])
	if out["expires_in"] != 90.0 {
		t.Errorf("expires_in with token_ttl 90s = %v, want 90", out["expires_in"])
	}
	status, ans, _ := hwPost(t, c, sim.Endpoint(VendorHuawei)+"/v2/"+f["project_id"]+
		"/messages:send", out["access_token"].(string), nil, hwBody([]string{"tok"}, nil))
	if status != 200 || ans["code"] != hwSuccess {
		t.Errorf("push with that token: %d %v", status, ans)
	}
}
