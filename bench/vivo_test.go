package bench

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

// vivoEnv is one vendorsim and one Herald node with a vivo notifier and
// `users` bound recipients.
type vivoEnv struct {
	sim    *vendorsim.Sim
	fields map[string]string
	node   *node.Node
}

func setUpVivo(b *testing.B) *vivoEnv {
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
		GossipAddr: "127.0.0.1:0", RemoteAddr: "127.0.0.1:0", ClusterName: "bench-vivo",
		BootstrapToken: "bench-bootstrap-token", TokenTTL: time.Hour, MaxTokenTTL: time.Hour,
		DeliveryMaxInFlight: 256, DeliveryQueueSize: 10000, GrainIdleTimeout: 10 * time.Minute,
		SoftSyncInterval: time.Second, PushWait: 30 * time.Second, MaxPushWait: time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Stop(context.Background()) })

	e := &vivoEnv{sim: sim, fields: creds.Vendors[vendorsim.VendorVivo], node: n}
	e.provision(b)
	return e
}

// provision creates the app, a vivo notifier on vendorsim and the bound
// users over REST.
func (e *vivoEnv) provision(b *testing.B) {
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

	endpoint := e.sim.Endpoint(vendorsim.VendorVivo)
	liftUserLimit(b, base+"/bench/app", tok.AccessToken)
	call(b, "POST", base+"/bench/app/push/notifiers", tok.AccessToken, map[string]any{
		"name": "vivo", "provider": "vivo", "endpoint": endpoint, "auth_endpoint": endpoint,
		"credentials": e.fields,
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
				tok.AccessToken, map[string]any{"device_id": "d", "notifier_name": "vivo",
					"device_token": vivoRegID(i)}, nil)
		}()
	}
	wg.Wait()
}

func vivoRegID(i int) string { return fmt.Sprintf("regid-%08d", i+1) }

// BenchmarkVivo pushes b.N notifications to vendorsim's vivo emulator,
// with a bare net/http client and through a Herald node, and reports
// pushes/s and CPU seconds per 100k pushes for each.
func BenchmarkVivo(b *testing.B) {
	e := setUpVivo(b)
	b.Run("bare-http", func(b *testing.B) { e.bare(b) })
	b.Run("herald", func(b *testing.B) { e.herald(b) })
}

// bare is the minimal vivo client: one auth call, then one JSON send per
// push over a shared HTTP/2 transport.
func (e *vivoEnv) bare(b *testing.B) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.sim.CAPEM())
	client := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16}}
	base := e.sim.Endpoint(vendorsim.VendorVivo)
	f := e.fields

	ts := time.Now().UnixMilli()
	sum := md5.Sum([]byte(f["app_id"] + f["app_key"] + strconv.FormatInt(ts, 10) +
		f["app_secret"]))
	var auth struct {
		Result    int    `json:"result"`
		AuthToken string `json:"authToken"`
	}
	if err := vivoPost(client, base+"/message/auth", "", map[string]any{"appId": f["app_id"],
		"appKey": f["app_key"], "timestamp": ts, "sign": hex.EncodeToString(sum[:])},
		&auth); err != nil || auth.Result != 0 {
		b.Fatalf("auth: %v %+v", err, auth)
	}

	run(b, func(i int) error {
		var ans struct {
			Result int    `json:"result"`
			Desc   string `json:"desc"`
		}
		err := vivoPost(client, base+"/message/send", auth.AuthToken, map[string]any{
			"appId": f["app_id"], "regId": vivoRegID(i % users), "notifyType": 4,
			"title": "您有一条新消息", "content": "请点击查看", "timeToLive": 86400,
			"skipType": 1, "classification": 1, "requestId": fmt.Sprint("bare-", i),
			"pushMode": 0, "clientCustomMap": map[string]string{"f": "alice", "t": "bob",
				"m": fmt.Sprint(i)},
		}, &ans)
		if err != nil {
			return err
		}
		if ans.Result != 0 {
			return fmt.Errorf("vivo answered %d %s", ans.Result, ans.Desc)
		}
		return nil
	})
}

func vivoPost(c *http.Client, url, authToken string, body, out any) error {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", url, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	if authToken != "" {
		req.Header.Set("authToken", authToken)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d %s", resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

func (e *vivoEnv) herald(b *testing.B) {
	round := time.Now().UnixNano()
	run(b, func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := e.node.Push(ctx, &messages.PushMessage{
			AppKey: "bench#app", MsgId: fmt.Sprintf("v%d-%d", round, i), From: "alice",
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
