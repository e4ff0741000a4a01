package faults

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/node"
	"github.com/herald-im/herald/vendorsim"
)

// Names of the app and notifiers every test provisions.
const (
	org       = "faults"
	appName   = "app"
	appKey    = org + "#" + appName
	bootstrap = "faults-bootstrap-token"
)

// env is one emulator, one token-endpoint gate in front of it and one
// Herald node with an app whose users are bound to APNs or Huawei.
type env struct {
	t     *testing.T
	sim   *vendorsim.Sim
	creds *vendorsim.Creds
	gate  *authGate
	node  *node.Node
	token string // the app's REST token
	round atomic.Int64
}

// envOptions size the node under test.
type envOptions struct {
	maxInFlight, queueSize int
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	dir := t.TempDir()
	creds, err := vendorsim.GenCreds(filepath.Join(dir, "creds"))
	if err != nil {
		t.Fatal(err)
	}
	sim, err := vendorsim.Start(vendorsim.Config{CredsFile: creds.ConfigFile,
		RecordLimit: 200000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	e := &env{t: t, sim: sim, creds: creds}
	e.gate = startAuthGate(t, sim)

	// The node trusts the emulator's CA and the gate's certificate.
	caFile := filepath.Join(dir, "ca.pem")
	gateCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE",
		Bytes: e.gate.srv.Certificate().Raw})
	if err := os.WriteFile(caFile, append(sim.CAPEM(), gateCert...), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", caFile)

	logger := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{
		Level: slog.LevelWarn}))
	n, err := node.Start(node.Options{
		DataDir: filepath.Join(dir, "data"), HTTPAddr: "127.0.0.1:0",
		GossipAddr: "127.0.0.1:0", RemoteAddr: "127.0.0.1:0", ClusterName: "faults",
		BootstrapToken: bootstrap, TokenTTL: time.Hour, MaxTokenTTL: time.Hour,
		DeliveryMaxInFlight: o.maxInFlight, DeliveryQueueSize: o.queueSize,
		GrainIdleTimeout: 10 * time.Minute, SoftSyncInterval: time.Second,
		PushWait: time.Minute, MaxPushWait: 2 * time.Minute, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	e.node = n
	e.provision()
	return e
}

// tWriter routes the node's warnings to t.Log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// provision creates the app and its two notifiers over REST, as an
// operator would; Huawei fetches its tokens through the gate.
func (e *env) provision() {
	base := "http://" + e.node.HTTPAddr()
	var app struct {
		Data map[string]string `json:"data"`
	}
	e.call("POST", base+"/management/orgs/"+org+"/apps", bootstrap,
		map[string]any{"name": appName}, &app)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	appURL := base + "/" + org + "/" + appName
	e.call("POST", appURL+"/token", "", map[string]any{"grant_type": "client_credentials",
		"client_id": app.Data["client_id"], "client_secret": app.Data["client_secret"]}, &tok)
	e.token = tok.AccessToken

	e.call("PUT", appURL+"/push/config", e.token,
		map[string]any{"rate_limits": map[string]any{"user": 1000000}}, nil)
	// Two APNs notifiers on the same team: connections read the
	// emulator's connection knobs (goaway_every) when they open, so the
	// GOAWAY scenario uses a notifier whose connections open after the
	// knob is set.
	a := e.creds.APNs
	for _, name := range []string{"apns", "apns-goaway"} {
		e.call("POST", appURL+"/push/notifiers", e.token, map[string]any{
			"name": name, "provider": "apns", "environment": "development",
			"endpoint": e.sim.Endpoint("apns"),
			"credentials": map[string]any{"bundle_id": a.BundleID, "auth_type": "p8",
				"key_id": a.KeyID, "team_id": a.TeamID, "private_key": string(a.P8PEM)},
		}, nil)
	}
	e.call("POST", appURL+"/push/notifiers", e.token, map[string]any{
		"name": "huawei", "provider": "huawei", "endpoint": e.sim.Endpoint("huawei"),
		"auth_endpoint": e.gate.srv.URL, "credentials": e.creds.Vendors["huawei"],
	}, nil)
}

// user is one bound recipient.
type user struct {
	name, notifier, token string
}

// bind binds n users named prefix0.. to notifier with tokens made by
// token(i), in parallel.
func (e *env) bind(prefix, notifier string, n int, token func(i int) string) []user {
	appURL := "http://" + e.node.HTTPAddr() + "/" + org + "/" + appName
	users := make([]user, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range users {
		users[i] = user{name: fmt.Sprintf("%s%d", prefix, i), notifier: notifier,
			token: token(i)}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			e.call("PUT", appURL+"/users/"+users[i].name+"/push/binding", e.token,
				map[string]any{"device_id": "d", "notifier_name": notifier,
					"device_token": users[i].token}, nil)
		}()
	}
	wg.Wait()
	return users
}

// call sends a JSON request and decodes the answer's body into out.
func (e *env) call(method, url, token string, body, out any) {
	e.t.Helper()
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(method, url, bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatal(err)
		}
	}
}

// pushKey names one push: a device token and the collapse key (the
// msg_id, SPEC.md §10).
type pushKey struct{ token, collapse string }

// burstResult is what a burst of group messages came back with.
type burstResult struct {
	pushes   int
	statuses map[string]int // "success", "fail error-reason", ...
	acked    map[pushKey]bool
	failed   map[pushKey]string // pushes not acknowledged: their outcome
	elapsed  time.Duration
}

func (b burstResult) rate() float64 { return float64(b.pushes) / b.elapsed.Seconds() }

// burst sends msgs group messages at once, each to every user, and
// gathers the binding outcomes Herald reported.
func (e *env) burst(users []user, msgs int) burstResult {
	e.t.Helper()
	round := e.round.Add(1)
	members := make([]string, len(users))
	tokens := map[string]string{}
	for i, u := range users {
		members[i] = u.name
		tokens[u.name] = u.token
	}

	res := burstResult{pushes: msgs * len(users), statuses: map[string]int{},
		acked: map[pushKey]bool{}, failed: map[pushKey]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for m := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgID := fmt.Sprintf("r%d-m%d", round, m)
			out := e.push(msgID, members)
			mu.Lock()
			defer mu.Unlock()
			for _, r := range out.Results {
				for _, b := range r.Bindings {
					key := b.Status
					if b.Status != "success" {
						key += " " + b.VendorReason
					}
					res.statuses[key]++
					k := pushKey{tokens[r.User], msgID}
					if b.Status == "success" {
						res.acked[k] = true
					} else {
						res.failed[k] = key
					}
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func (e *env) push(msgID string, members []string) *messages.PushResult {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := e.node.Push(ctx, &messages.PushMessage{
		AppKey: appKey, MsgId: msgID, From: "alice", ChatType: "groupchat",
		GroupId: "g1", Members: members, Body: &messages.Body{Type: "txt", Text: "hi"},
	})
	if err != nil {
		e.t.Errorf("push %s: %v", msgID, err)
		return &messages.PushResult{}
	}
	if res.Error != nil || res.Pending != 0 {
		e.t.Errorf("push %s answered error %v, %d pending", msgID, res.Error, res.Pending)
	}
	return res
}

// collapseKey reads the collapse key a record carries: apns-collapse-id,
// or the Android notification tag.
func collapseKey(r vendorsim.Record) string {
	if k := r.Headers["apns-collapse-id"]; k != "" {
		return k
	}
	var p struct {
		Message struct {
			Android struct {
				Notification struct {
					Tag string `json:"tag"`
				} `json:"notification"`
			} `json:"android"`
		} `json:"message"`
	}
	_ = json.Unmarshal(r.Payload, &p)
	return p.Message.Android.Notification.Tag
}

// checkDelivery asserts SPEC.md §2.7 for one burst: every acknowledged
// push reached the emulator and was delivered there, and none was
// delivered twice. since keeps records of this burst only.
func (e *env) checkDelivery(vendor string, since uint64, b burstResult) {
	e.t.Helper()
	delivered := map[pushKey]int{}
	seen := map[pushKey]bool{}
	for _, r := range e.sim.Received(vendorsim.Filter{Vendor: vendor, Since: since}) {
		k := pushKey{r.Token, collapseKey(r)}
		seen[k] = true
		if r.Outcome == "delivered" {
			delivered[k]++
		}
	}

	var lost, twice []string
	for k := range b.acked {
		if !seen[k] || delivered[k] == 0 {
			lost = append(lost, fmt.Sprint(k))
		}
	}
	for k, n := range delivered {
		if n > 1 {
			twice = append(twice, fmt.Sprintf("%v x%d", k, n))
		}
	}
	sort.Strings(lost)
	sort.Strings(twice)
	if len(lost) > 0 {
		e.t.Errorf("%d acknowledged pushes never delivered by %s, e.g. %v", len(lost),
			vendor, lost[:min(5, len(lost))])
	}
	if len(twice) > 0 {
		e.t.Errorf("%d pushes delivered twice by %s, e.g. %v", len(twice), vendor,
			twice[:min(5, len(twice))])
	}
	if sum := sumStatuses(b.statuses); sum != b.pushes {
		e.t.Errorf("outcomes reported for %d pushes, want %d: %v", sum, b.pushes, b.statuses)
	}
}

// attempts describes what the emulator answered to each push that was
// not acknowledged, for failure messages.
func (e *env) attempts(vendor string, since uint64, b burstResult) []string {
	answers := map[pushKey][]string{}
	for _, r := range e.sim.Received(vendorsim.Filter{Vendor: vendor, Since: since}) {
		k := pushKey{r.Token, collapseKey(r)}
		if _, ok := b.failed[k]; ok {
			answers[k] = append(answers[k], fmt.Sprintf("%d %s conn %d at %s", r.Status,
				r.Outcome, r.Conn, r.ReceivedAt.Format("15:04:05.000")))
		}
	}
	var out []string
	for k, o := range b.failed {
		out = append(out, fmt.Sprintf("%v %s: %v", k, o, answers[k]))
	}
	sort.Strings(out)
	return out
}

func sumStatuses(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// lastSeq is the emulator's newest record number, for Filter.Since.
func (e *env) lastSeq() uint64 {
	recs := e.sim.Received(vendorsim.Filter{})
	if len(recs) == 0 {
		return 0
	}
	return recs[len(recs)-1].Seq
}

// authGate stands in front of the emulator's Huawei token endpoint and
// answers 503 to the first `failing` token requests: an OAuth endpoint
// failing for a while.
type authGate struct {
	srv     *httptest.Server
	failing atomic.Int64 // refusals left
	refused atomic.Int64
	passed  atomic.Int64
}

func startAuthGate(t *testing.T, sim *vendorsim.Sim) *authGate {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CAPEM())
	upstream := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}}}
	target := sim.Endpoint("huawei")

	g := &authGate{}
	g.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		if g.failing.Add(-1) >= 0 {
			g.refused.Add(1)
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":"temporarily_unavailable"}`,
				http.StatusServiceUnavailable)
			return
		}
		g.passed.Add(1)
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequest(r.Method, target+r.URL.Path, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := upstream.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(func() {
		g.srv.Close()
		upstream.CloseIdleConnections()
	})
	return g
}
