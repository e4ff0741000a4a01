package bench

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// hwEnv is the stack with a Huawei or Honor notifier and its credentials.
type hwEnv struct {
	*stack
	provider string
	creds    map[string]string // the notifier's credentials
}

func hwSetUp(b *testing.B, provider string) *hwEnv {
	s := newStack(b, "bench-"+provider)
	s.notifier(b, provider, nil)
	s.bind(b, provider, hwDeviceToken)
	return &hwEnv{stack: s, provider: provider, creds: s.creds.Vendors[provider]}
}

func hwDeviceToken(i int) string { return fmt.Sprintf("IQAAAACy%056x", i+1) }

// BenchmarkHuawei pushes b.N notifications to vendorsim's Huawei emulator
// with a bare net/http client and through a Herald node, and reports
// pushes/s and CPU seconds per 100k pushes for each.
func BenchmarkHuawei(b *testing.B) {
	e := hwSetUp(b, "huawei")
	b.Run("bare-http", func(b *testing.B) { e.bare(b) })
	b.Run("herald", func(b *testing.B) { e.herald(b) })
}

// BenchmarkHonor is BenchmarkHuawei for Honor Push.
func BenchmarkHonor(b *testing.B) {
	e := hwSetUp(b, "honor")
	b.Run("bare-http", func(b *testing.B) { e.bare(b) })
	b.Run("herald", func(b *testing.B) { e.herald(b) })
}

// bare is the minimal client: one client_credentials token, then a JSON
// POST per push with the body Herald sends, h2 when offered.
func (e *hwEnv) bare(b *testing.B) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.sim.CAPEM())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 16, MaxConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	ep := e.sim.Endpoint(e.provider)
	tokenURL, sendURL := ep+"/oauth2/v3/token", ep+"/v2/"+e.creds["project_id"]+"/messages:send"
	if e.provider == "honor" {
		tokenURL, sendURL = ep+"/auth/token", ep+"/api/v1/"+e.creds["app_id"]+"/sendMessage"
	}
	bearer := hwFetchToken(b, client, tokenURL, e.creds)

	run(b, func(i int) error {
		body := hwBody(e.provider, hwDeviceToken(i%users), fmt.Sprint(i))
		req, err := http.NewRequest("POST", sendURL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json;charset=UTF-8")
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("timestamp", strconv.FormatInt(time.Now().UnixMilli(), 10))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var ans struct {
			Code json.RawMessage `json:"code"`
		}
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || json.Unmarshal(raw, &ans) != nil ||
			(string(ans.Code) != `"80000000"` && string(ans.Code) != "200") {
			return fmt.Errorf("%s answered %d %s", e.provider, resp.StatusCode, raw)
		}
		return nil
	})
}

// The text Herald renders for the benchmark's message (default template).
const (
	hwTitle = "您有一条新消息"
	hwText  = "请点击查看"
)

// hwBody is the body Herald sends for the benchmark's message.
func hwBody(provider, token, msgID string) []byte {
	data := `{"f":"alice","t":"bob","m":"` + msgID + `"}`
	if provider == "honor" {
		body, _ := json.Marshal(map[string]any{"token": []string{token}, "data": data,
			"android": map[string]any{"ttl": "86400s", "targetUserType": 0,
				"notification": map[string]any{"title": hwTitle, "body": hwText,
					"clickAction": map[string]any{"type": 3}, "importance": "NORMAL",
					"tag": msgID}}})
		return body
	}
	body, _ := json.Marshal(map[string]any{"validate_only": false, "message": map[string]any{
		"token": []string{token}, "data": data,
		"android": map[string]any{"urgency": "NORMAL", "ttl": "86400s", "target_user_type": 0,
			"notification": map[string]any{"title": hwTitle, "body": hwText,
				"click_action": map[string]any{"type": 3}, "default_sound": true,
				"tag": msgID}}}})
	return body
}

func hwFetchToken(b *testing.B, c *http.Client, tokenURL string, creds map[string]string) string {
	b.Helper()
	resp, err := c.PostForm(tokenURL, url.Values{"grant_type": {"client_credentials"},
		"client_id": {creds["client_id"]}, "client_secret": {creds["client_secret"]}})
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		b.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return out.AccessToken
}
