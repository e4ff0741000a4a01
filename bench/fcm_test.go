package bench

import (
	"bytes"
	"context"
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
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"golang.org/x/net/http2"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/node"
	"github.com/herald-im/herald/vendorsim"
)

// fcmApp is the app the FCM benchmark provisions.
const fcmApp = "fcmbench#app"

// BenchmarkFCM pushes b.N notifications to vendorsim's FCM emulator, with
// a bare net/http client doing the same OAuth and request and through a
// Herald node, and reports pushes/s and CPU seconds per 100k pushes.
func BenchmarkFCM(b *testing.B) {
	e := fcmSetUp(b)
	b.Run("bare-nethttp", func(b *testing.B) { e.bareFCM(b) })
	b.Run("herald", func(b *testing.B) { e.heraldFCM(b) })
}

func fcmSetUp(b *testing.B) *env {
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
		GossipAddr: "127.0.0.1:0", RemoteAddr: "127.0.0.1:0", ClusterName: "bench",
		BootstrapToken: "bench-bootstrap-token", TokenTTL: time.Hour, MaxTokenTTL: time.Hour,
		DeliveryMaxInFlight: 256, DeliveryQueueSize: 10000, GrainIdleTimeout: 10 * time.Minute,
		SoftSyncInterval: time.Second, PushWait: 30 * time.Second, MaxPushWait: time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Stop(context.Background()) })

	e := &env{sim: sim, creds: creds, node: n}
	e.provisionFCM(b)
	return e
}

// provisionFCM creates the app, an fcm notifier on vendorsim and the bound
// users over REST, as an operator would.
func (e *env) provisionFCM(b *testing.B) {
	base := "http://" + e.node.HTTPAddr()
	org, app, _ := strings.Cut(fcmApp, "#")
	var created struct {
		Data map[string]string `json:"data"`
	}
	call(b, "POST", base+"/management/orgs/"+org+"/apps", "bench-bootstrap-token",
		map[string]any{"name": app}, &created)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	appURL := base + "/" + org + "/" + app
	call(b, "POST", appURL+"/token", "", map[string]any{"grant_type": "client_credentials",
		"client_id": created.Data["client_id"], "client_secret": created.Data["client_secret"]},
		&tok)

	endpoint := e.sim.Endpoint(vendorsim.VendorFCM)
	liftUserLimit(b, appURL, tok.AccessToken)
	call(b, "POST", appURL+"/push/notifiers", tok.AccessToken, map[string]any{
		"name": "fcm", "provider": "fcm", "endpoint": endpoint, "auth_endpoint": endpoint,
		"credentials": e.creds.Vendors[vendorsim.VendorFCM],
	}, nil)

	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			call(b, "PUT", fmt.Sprintf("%s/users/u%d/push/binding", appURL, i),
				tok.AccessToken, map[string]any{"device_id": "d", "notifier_name": "fcm",
					"device_token": fcmDeviceToken(i)}, nil)
		}()
	}
	wg.Wait()
}

func fcmDeviceToken(i int) string { return fmt.Sprintf("bench%d:APA91b%058x", i, i+1) }

// bareFCM is the minimal client: one OAuth token from a signed JWT, then
// one messages:send per push over HTTP/2, the body shaped as Herald's.
func (e *env) bareFCM(b *testing.B) {
	var account struct {
		ProjectID   string `json:"project_id"`
		ClientEmail string `json:"client_email"`
		KeyID       string `json:"private_key_id"`
		PrivateKey  string `json:"private_key"`
	}
	if err := json.Unmarshal([]byte(e.creds.Vendors[vendorsim.VendorFCM]["service_account"]),
		&account); err != nil {
		b.Fatal(err)
	}
	block, _ := pem.Decode([]byte(account.PrivateKey))
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.sim.CAPEM())
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	base := e.sim.Endpoint(vendorsim.VendorFCM)
	access := bareFCMToken(b, client, base+"/token", account.ClientEmail, account.KeyID,
		parsed.(*rsa.PrivateKey))
	sendURL := base + "/v1/projects/" + account.ProjectID + "/messages:send"

	run(b, func(i int) error {
		body := fmt.Sprintf(`{"message":{"token":%q,"notification":{"title":"您有一条新消息",`+
			`"body":"请点击查看"},"data":{"f":"alice","m":"m%d","t":"bob"},"android":`+
			`{"priority":"HIGH","ttl":"86400s","notification":{"sound":"default",`+
			`"notification_count":1,"tag":"m%d"}}}}`, fcmDeviceToken(i%users), i, i)
		req, err := http.NewRequest("POST", sendURL, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+access)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("fcm answered %d %s", resp.StatusCode, answer)
		}
		return nil
	})
}

func bareFCMToken(b *testing.B, c *http.Client, tokenURL, email, kid string,
	key *rsa.PrivateKey) string {
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": email,
		"scope": "https://www.googleapis.com/auth/firebase.messaging", "aud": tokenURL,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	t.Header["kid"] = kid
	assertion, err := t.SignedString(key)
	if err != nil {
		b.Fatal(err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion": {assertion}}
	resp, err := c.Post(tokenURL, "application/x-www-form-urlencoded",
		bytes.NewReader([]byte(form.Encode())))
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

func (e *env) heraldFCM(b *testing.B) {
	round := time.Now().UnixNano()
	run(b, func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := e.node.Push(ctx, &messages.PushMessage{
			AppKey: fcmApp, MsgId: fmt.Sprintf("%d-%d", round, i), From: "alice",
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
