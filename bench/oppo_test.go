package bench

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/node"
	"github.com/herald-im/herald/vendorsim"
)

// oppoEnv is one vendorsim and one Herald node with an OPPO notifier.
type oppoEnv struct {
	sim   *vendorsim.Sim
	creds map[string]string // the oppo notifier's credentials
	node  *node.Node
}

func oppoSetUp(b *testing.B) *oppoEnv {
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
		GossipAddr: "127.0.0.1:0", RemoteAddr: "127.0.0.1:0", ClusterName: "bench-oppo",
		BootstrapToken: "bench-bootstrap-token", TokenTTL: time.Hour, MaxTokenTTL: time.Hour,
		DeliveryMaxInFlight: 256, DeliveryQueueSize: 10000, GrainIdleTimeout: 10 * time.Minute,
		SoftSyncInterval: time.Second, PushWait: 30 * time.Second, MaxPushWait: time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Stop(context.Background()) })

	e := &oppoEnv{sim: sim, creds: creds.Vendors["oppo"], node: n}
	e.provision(b)
	return e
}

// provision creates the app, the OPPO notifier and the bound users.
func (e *oppoEnv) provision(b *testing.B) {
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

	ep := e.sim.Endpoint("oppo")
	liftUserLimit(b, base+"/bench/app", tok.AccessToken)
	call(b, "POST", base+"/bench/app/push/notifiers", tok.AccessToken, map[string]any{
		"name": "oppo", "provider": "oppo", "endpoint": ep, "auth_endpoint": ep,
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
				tok.AccessToken, map[string]any{"device_id": "d", "notifier_name": "oppo",
					"device_token": oppoRegID(i)}, nil)
		}()
	}
	wg.Wait()
}

func oppoRegID(i int) string { return fmt.Sprintf("OPPO_CN_%024x", i+1) }

// BenchmarkOPPO pushes b.N notifications to vendorsim's OPPO emulator with
// a bare net/http client and through a Herald node, and reports pushes/s
// and CPU seconds per 100k pushes for each.
func BenchmarkOPPO(b *testing.B) {
	e := oppoSetUp(b)
	b.Run("bare-http", func(b *testing.B) { e.bare(b) })
	b.Run("herald", func(b *testing.B) { e.herald(b) })
}

// bare is the minimal OPPO client: one signed auth, then a form POST per
// push with the same message Herald sends, over HTTP/2.
func (e *oppoEnv) bare(b *testing.B) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.sim.CAPEM())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true, MaxIdleConnsPerHost: concurrency}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := e.sim.Endpoint("oppo")

	key, secret := e.creds["app_key"], e.creds["master_secret"]
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sum := sha256.Sum256([]byte(key + ts + secret))
	var auth struct {
		Code int `json:"code"`
		Data struct {
			AuthToken string `json:"auth_token"`
		} `json:"data"`
	}
	if err := oppoPost(client, base+"/server/v1/auth", url.Values{"app_key": {key},
		"timestamp": {ts}, "sign": {hex.EncodeToString(sum[:])}}, "", &auth); err != nil ||
		auth.Code != 0 {
		b.Fatalf("oppo auth: %v %+v", err, auth)
	}

	send := base + "/server/v1/message/notification/unicast"
	run(b, func(i int) error {
		msg := `{"target_type":2,"target_value":"` + oppoRegID(i%users) + `",` +
			`"notification":{"title":"您有一条新消息","content":"请点击查看","style":1,` +
			`"click_action_type":0,"action_parameters":"{\"f\":\"alice\",\"t\":\"bob\",` +
			`\"m\":\"m` + strconv.Itoa(i) + `\"}","off_line":true,"off_line_ttl":86400}}`
		var ans struct {
			Code int `json:"code"`
		}
		err := oppoPost(client, send, url.Values{"auth_token": {auth.Data.AuthToken},
			"message": {msg}}, auth.Data.AuthToken, &ans)
		if err == nil && ans.Code != 0 {
			err = fmt.Errorf("oppo answered code %d", ans.Code)
		}
		return err
	})
}

func oppoPost(c *http.Client, u string, form url.Values, authToken string, out any) error {
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	if authToken != "" {
		req.Header.Set("auth_token", authToken)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	return json.Unmarshal(body, out)
}

func (e *oppoEnv) herald(b *testing.B) {
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
