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
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/node"
	"github.com/herald-im/herald/vendorsim"
)

// concurrency is how many pushes both sides keep in flight: the bare
// client runs this many goroutines, Herald gets this many messages at once.
const concurrency = 128

// users is how many recipients Herald's pushes rotate over, so the figure
// includes grain activation and not only one hot grain.
const users = 2000

// env is one vendorsim and one Herald node, shared by the sub-benchmarks.
type env struct {
	sim   *vendorsim.Sim
	creds *vendorsim.Creds
	node  *node.Node
}

func setUp(b *testing.B) *env {
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
	e.provision(b)
	return e
}

// provision creates the app, an APNs notifier on vendorsim and the bound
// users over REST, as an operator would.
func (e *env) provision(b *testing.B) {
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

	// Provisioning binds thousands of users at once: lift the app's REST
	// rate limit for it, as an operator would for a bulk import.
	call(b, "PUT", base+"/bench/app/push/config", tok.AccessToken,
		map[string]any{"rate_limits": map[string]any{"user": 1000000}}, nil)

	a := e.creds.APNs
	call(b, "POST", base+"/bench/app/push/notifiers", tok.AccessToken, map[string]any{
		"name": "apns", "provider": "apns", "environment": "development",
		"endpoint": e.sim.Endpoint("apns"),
		"credentials": map[string]any{"bundle_id": a.BundleID, "auth_type": "p8",
			"key_id": a.KeyID, "team_id": a.TeamID, "private_key": string(a.P8PEM)},
	}, nil)

	// Binding is one synced write per user: do it in parallel.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			call(b, "PUT", fmt.Sprintf("%s/bench/app/users/u%d/push/binding", base, i),
				tok.AccessToken, map[string]any{"device_id": "d", "notifier_name": "apns",
					"device_token": deviceToken(i)}, nil)
		}()
	}
	wg.Wait()
}

func deviceToken(i int) string { return fmt.Sprintf("%064x", i+1) }

// BenchmarkAPNs pushes b.N notifications to vendorsim's APNs emulator, with
// a bare sideshow/apns2 client and through a Herald node, and reports
// pushes/s and CPU seconds per 100k pushes for each.
func BenchmarkAPNs(b *testing.B) {
	e := setUp(b)
	b.Run("bare-apns2", func(b *testing.B) { e.bareAPNs2(b) })
	b.Run("herald", func(b *testing.B) { e.herald(b) })
}

func (e *env) bareAPNs2(b *testing.B) {
	a := e.creds.APNs
	key, err := token.AuthKeyFromBytes(a.P8PEM)
	if err != nil {
		b.Fatal(err)
	}
	client := apns2.NewTokenClient(&token.Token{AuthKey: key, KeyID: a.KeyID, TeamID: a.TeamID})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.sim.CAPEM())
	client.HTTPClient.Transport = &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	client.Host = e.sim.Endpoint("apns")
	payload := []byte(`{"aps":{"alert":{"title":"您有一条新消息","body":"请点击查看"},` +
		`"badge":1,"sound":"default"},"f":"alice","t":"bob","m":"m1"}`)

	run(b, func(i int) error {
		res, err := client.Push(&apns2.Notification{DeviceToken: deviceToken(i % users),
			Topic: a.BundleID, Payload: payload, CollapseID: fmt.Sprint(i)})
		if err != nil {
			return err
		}
		if res.StatusCode != 200 {
			return fmt.Errorf("apns answered %d %s", res.StatusCode, res.Reason)
		}
		return nil
	})
}

func (e *env) herald(b *testing.B) {
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

// run calls push b.N times from `concurrency` goroutines and reports the
// rate and the CPU the whole process spent (emulator included, the same
// for both sides).
func run(b *testing.B, push func(i int) error) {
	var next atomic.Int64
	var failed atomic.Value
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()

	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := push(i); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()

	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pushes/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*100000/float64(b.N), "cpu-s/100k")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// call sends a JSON request and decodes the answer into out.
func call(b *testing.B, method, url, token string, body, out any) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(method, url, bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Errorf("%s %s: %d %s", method, url, resp.StatusCode, data)
		return
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			b.Error(err)
		}
	}
}

// liftUserLimit raises an app's REST "user" rate limit for provisioning
// thousands of bindings at once, as an operator would for a bulk import.
func liftUserLimit(b *testing.B, appURL, token string) {
	call(b, "PUT", appURL+"/push/config", token,
		map[string]any{"rate_limits": map[string]any{"user": 1000000}}, nil)
}
