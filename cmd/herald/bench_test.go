package main

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-im/herald/vendorsim"
)

// Cluster figures for BENCHMARKS.md, measured on three herald processes:
//
//	HERALD_CLUSTER_BENCH=1 go test -count=1 -run TestClusterFigures -v ./cmd/herald/
//
// HERALD_CLUSTER_BENCH_SECONDS sets the length of each write phase
// (default 20). The test fails when no write is acknowledged or when more
// than 1% of them fail, never on the rates themselves.

const (
	benchWriters = 64
	benchUsers   = 4 // per writer
	coldSamples  = 300
)

// benchApp is the app the figures use, with a REST token.
type benchApp struct {
	base  []string // node base URLs
	token string
}

func (b benchApp) url(node int, path string) string {
	return b.base[node%len(b.base)] + "/bench/app" + path
}

func TestClusterFigures(t *testing.T) {
	if os.Getenv("HERALD_CLUSTER_BENCH") == "" {
		t.Skip("set HERALD_CLUSTER_BENCH=1 to measure the cluster figures")
	}
	seconds := 20
	if v, err := strconv.Atoi(os.Getenv("HERALD_CLUSTER_BENCH_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	ms := startCluster(t, "a", "b", "c")
	app := setupBenchApp(t, ms)

	p50, p99 := coldActivations(t, app)
	t.Logf("cold activation (GET bindings of a new user, %d sequential): p50 %v, p99 %v",
		coldSamples, p50, p99)

	// Every writer owns its users; a first pass activates their grains
	// and binds their devices, so the timed phases measure writes only.
	users := func(w, k int) string { return fmt.Sprintf("w%du%d", w, k) }
	forEachWriter(t, func(w int) {
		for k := range benchUsers {
			putBinding(t, app, w+k, users(w, k), 0)
		}
	})

	d := time.Duration(seconds) * time.Second
	acked, failed := hammer(d, func(w int, n uint64) bool {
		k := int(n % benchUsers)
		body := map[string]any{"nickname": fmt.Sprintf("nick-%d", n)}
		return doJSON(benchClient, "PUT", app.url(w+k, "/users/"+users(w, k)), app.token,
			body, nil) == http.StatusOK
	})
	report(t, "PUT user (one replicated register write each)", acked, failed, d)

	acked, failed = hammer(d, func(w int, n uint64) bool {
		// Each user's token flips on each of its turns, so every request
		// changes the binding.
		k := int(n % benchUsers)
		return putBindingOK(app, w+k, users(w, k), int(n/benchUsers%2)+1)
	})
	report(t, "PUT binding (token alternating: claim + user write + release)", acked, failed, d)

	// The writes landed: every user's device holds one of the two tokens.
	for w := range benchWriters {
		var got struct {
			Entities []struct {
				DeviceToken string `json:"device_token"`
			} `json:"entities"`
		}
		u := users(w, 0)
		doJSON(client, "GET", app.url(w+1, "/users/"+u+"/push/binding"), app.token, nil, &got)
		if len(got.Entities) != 1 || (got.Entities[0].DeviceToken != "tok-"+u+"-1" &&
			got.Entities[0].DeviceToken != "tok-"+u+"-2") {
			t.Fatalf("bindings of %s after the write phase: %+v", u, got)
		}
	}
}

// setupBenchApp creates the app through the first node with its REST
// user limit lifted and one notifier, and waits until every node's cache
// has the notifier.
func setupBenchApp(t *testing.T, ms []*member) benchApp {
	t.Helper()
	app := benchApp{}
	for _, m := range ms {
		app.base = append(app.base, m.http)
	}
	var created struct {
		Data map[string]string `json:"data"`
	}
	if code := doJSON(client, "POST", ms[0].http+"/management/orgs/bench/apps", bootstrap,
		map[string]any{"name": "app"}, &created); code != http.StatusOK {
		t.Fatalf("create app: status %d", code)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	doJSON(client, "POST", app.url(0, "/token"), "", map[string]any{
		"grant_type": "client_credentials", "client_id": created.Data["client_id"],
		"client_secret": created.Data["client_secret"]}, &tok)
	if tok.AccessToken == "" {
		t.Fatalf("no access token")
	}
	app.token = tok.AccessToken

	if code := doJSON(client, "PUT", app.url(0, "/push/config"), app.token,
		map[string]any{"rate_limits": map[string]any{"user": 1000000}}, nil); code != 200 {
		t.Fatalf("lift rate limit: status %d", code)
	}
	creds, err := vendorsim.GenCreds(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The notifier is never called: the figures only bind devices.
	if code := doJSON(client, "POST", app.url(0, "/push/notifiers"), app.token,
		map[string]any{"name": "xm", "provider": "xiaomi", "endpoint": "https://127.0.0.1:1",
			"auth_endpoint": "https://127.0.0.1:1", "credentials": creds.Vendors["xiaomi"]},
		nil); code != 200 {
		t.Fatalf("create notifier: status %d", code)
	}
	for i := range ms {
		waitFor(t, "node "+ms[i].name+" knowing the notifier", 10*time.Second, func() bool {
			return putBindingOK(app, i, fmt.Sprintf("probe%d", i), 1)
		})
	}
	return app
}

var benchClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 2 * benchWriters},
}

// putBindingOK binds the user's device d1 to token number tok.
func putBindingOK(app benchApp, node int, user string, tok int) bool {
	body := map[string]any{"device_id": "d1", "notifier_name": "xm",
		"device_token": fmt.Sprintf("tok-%s-%d", user, tok)}
	return doJSON(benchClient, "PUT", app.url(node, "/users/"+user+"/push/binding"),
		app.token, body, nil) == http.StatusOK
}

func putBinding(t *testing.T, app benchApp, node int, user string, tok int) {
	if !putBindingOK(app, node, user, tok) {
		t.Errorf("bind %s through node %d failed", user, node%len(app.base))
	}
}

// coldActivations times GET bindings of never-seen users, one at a time,
// round-robin over the nodes: each activates a grain, which reads a
// majority of its replicas and writes the value back.
func coldActivations(t *testing.T, app benchApp) (p50, p99 time.Duration) {
	t.Helper()
	took := make([]time.Duration, 0, coldSamples)
	for i := range coldSamples {
		start := time.Now()
		code := doJSON(benchClient, "GET", app.url(i, fmt.Sprintf("/users/cold%d/push/binding", i)),
			app.token, nil, nil)
		if code != http.StatusOK {
			t.Fatalf("cold GET %d: status %d", i, code)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return took[len(took)/2], took[len(took)*99/100]
}

// forEachWriter runs f for every writer at once and waits for all.
func forEachWriter(t *testing.T, f func(w int)) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range benchWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(w)
		}()
	}
	wg.Wait()
}

// hammer runs write from benchWriters goroutines until d has passed and
// counts the acknowledged and the failed calls.
func hammer(d time.Duration, write func(w int, n uint64) bool) (acked, failed uint64) {
	var ok, bad atomic.Uint64
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range benchWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := uint64(0); time.Now().Before(end); n++ {
				if write(w, n) {
					ok.Add(1)
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return ok.Load(), bad.Load()
}

func report(t *testing.T, what string, acked, failed uint64, d time.Duration) {
	t.Helper()
	t.Logf("%s, %d writers for %v: %d acked (%.0f/s), %d failed", what, benchWriters, d,
		acked, float64(acked)/d.Seconds(), failed)
	if acked == 0 || failed*100 > acked {
		t.Errorf("%s: %d acked, %d failed; want acks and under 1%% failures", what, acked,
			failed)
	}
}
