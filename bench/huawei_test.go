package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/node"
	"github.com/herald-im/herald/vendorsim"
)

// hwEnv is one vendorsim and one Herald node with a notifier of a
// Huawei-family provider (huawei or honor).
type hwEnv struct {
	provider string
	sim      *vendorsim.Sim
	creds    map[string]string // the notifier's credentials
	node     *node.Node
}

func hwSetUp(b *testing.B, provider string) *hwEnv {
	b.Helper()
	dir := b.TempDir()
	creds, err := vendorsim.GenCreds(filepath.Join(dir, "creds"))
	if err != nil {
		b.Fatal(err)
	}
	sim, err := vendorsim.Start(vendorsim.Config{CredsFile: creds.ConfigFile, RecordLimit: 1000})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sim.Close() })

	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, sim.CAPEM(), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Setenv("SSL_CERT_FILE", caFile)

	n, err := node.Start(node.Options{
		DataDir: filepath.Join(dir, "data"), HTTPAddr: "127.0.0.1:0",
		GossipAddr: "127.0.0.1:0", RemoteAddr: "127.0.0.1:0", ClusterName: "bench-" + provider,
		BootstrapToken: "bench-bootstrap-token", TokenTTL: time.Hour, MaxTokenTTL: time.Hour,
		DeliveryMaxInFlight: 256, DeliveryQueueSize: 10000, GrainIdleTimeout: 10 * time.Minute,
		SoftSyncInterval: time.Second, PushWait: 30 * time.Second, MaxPushWait: time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Stop(context.Background()) })

	e := &hwEnv{provider: provider, sim: sim, creds: creds.Vendors[provider], node: n}
	e.provision(b)
	return e
}

// provision creates the app, the notifier and the bound users over REST.
func (e *hwEnv) provision(b *testing.B) {
	base := "http://" + e.node.HTTPAddr()
	var app struct {
		Data map[string]string `json:"data"`
	}
	call(b, "POST", base+"/management/orgs/bench/apps", "bench-bootstrap-token",
		map[string]any{"name": "app"}, &app)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	call(b, "POST", base+"/bench/app/token", "", map[string]any{"grant_type": "client_credentials",
		"client_id": app.Data["client_id"], "client_secret": app.Data["client_secret"]}, &tok)

	// Binding 2000 users at once is over the default "user" rate limit
	// (100 a second): raise it as an operator provisioning in bulk would.
	call(b, "PUT", base+"/bench/app/push/config", tok.AccessToken,
		map[string]any{"rate_limits": map[string]any{"user": 1000000}}, nil)

	ep := e.sim.Endpoint(e.provider)
	call(b, "POST", base+"/bench/app/push/notifiers", tok.AccessToken, map[string]any{
		"name": e.provider, "provider": e.provider, "endpoint": ep, "auth_endpoint": ep,
		"credentials": e.creds,
	}, nil)

	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			call(b, "PUT", fmt.Sprintf("%s/bench/app/users/u%d/push/binding", base, i),
				tok.AccessToken, map[string]any{"device_id": "d", "notifier_name": e.provider,
					"device_token": hwDeviceToken(i)}, nil)
		}()
	}
	wg.Wait()
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

func (e *hwEnv) herald(b *testing.B) {
	round := time.Now().UnixNano()
	run(b, func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := e.node.Push(ctx, &messages.PushMessage{
			AppKey: "bench#app", MsgId: fmt.Sprintf("%d-%d", round, i), From: "alice",
			ChatType: "chat", To: []string{fmt.Sprintf("u%d", i%users)},
			Body: &messages.Body{Type: "txt", Text: "hi"},
		})
		if err != nil {
			return err
		}
		if res.Error != nil || res.Pushed != 1 {
			return fmt.Errorf("push answered %v", res)
		}
		return nil
	})
}
