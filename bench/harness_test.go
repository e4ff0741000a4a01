package bench

import (
	"bytes"
	"context"
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

// benchApp is the app every benchmark provisions.
const benchApp = "bench#app"

// stack is one vendorsim and one Herald node in this process, with an app
// provisioned over REST as an operator would.
type stack struct {
	sim   *vendorsim.Sim
	creds *vendorsim.Creds
	node  *node.Node
	// appURL is the REST base of benchApp; token is an app token.
	appURL, token string
}

// newStack starts vendorsim with fresh credentials and a node that trusts
// its CA, then creates benchApp with its REST user rate limit lifted for
// the bulk provisioning that follows.
func newStack(b *testing.B, clusterName string) *stack {
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
		GossipAddr: "127.0.0.1:0", RemoteAddr: "127.0.0.1:0", ClusterName: clusterName,
		BootstrapToken: "bench-bootstrap-token", TokenTTL: time.Hour, MaxTokenTTL: time.Hour,
		DeliveryMaxInFlight: 256, DeliveryQueueSize: 10000, GrainIdleTimeout: 10 * time.Minute,
		SoftSyncInterval: time.Second, PushWait: 30 * time.Second, MaxPushWait: time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Stop(context.Background()) })

	s := &stack{sim: sim, creds: creds, node: n}
	base := "http://" + n.HTTPAddr()
	s.appURL = base + "/bench/app"
	var app struct {
		Data map[string]string `json:"data"`
	}
	call(b, "POST", base+"/management/orgs/bench/apps", "bench-bootstrap-token",
		map[string]any{"name": "app"}, &app)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	call(b, "POST", s.appURL+"/token", "", map[string]any{"grant_type": "client_credentials",
		"client_id": app.Data["client_id"], "client_secret": app.Data["client_secret"]}, &tok)
	s.token = tok.AccessToken

	call(b, "PUT", s.appURL+"/push/config", s.token,
		map[string]any{"rate_limits": map[string]any{"user": 1000000}}, nil)
	return s
}

// notifier creates a notifier named after provider, pointing at vendorsim
// with the credentials gen-creds made; extra fields are added as given.
func (s *stack) notifier(b *testing.B, provider string, extra map[string]any) {
	b.Helper()
	ep := s.sim.Endpoint(provider)
	body := map[string]any{"name": provider, "provider": provider, "endpoint": ep,
		"auth_endpoint": ep, "credentials": s.creds.Vendors[provider]}
	for k, v := range extra {
		body[k] = v
	}
	call(b, "POST", s.appURL+"/push/notifiers", s.token, body, nil)
}

// bind gives each of the users one device on notifier, with the device
// token deviceToken(i). Binding is one synced write per user, so it runs
// in parallel.
func (s *stack) bind(b *testing.B, notifier string, deviceToken func(i int) string) {
	b.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			call(b, "PUT", fmt.Sprintf("%s/users/u%d/push/binding", s.appURL, i), s.token,
				map[string]any{"device_id": "d", "notifier_name": notifier,
					"device_token": deviceToken(i)}, nil)
		}()
	}
	wg.Wait()
}

// herald pushes b.N one-recipient messages through the node, rotating
// over the bound users.
func (s *stack) herald(b *testing.B) {
	round := time.Now().UnixNano()
	run(b, func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := s.node.Push(ctx, &messages.PushMessage{
			AppKey: benchApp, MsgId: fmt.Sprintf("%d-%d", round, i), From: "alice",
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
