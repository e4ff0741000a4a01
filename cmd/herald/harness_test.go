package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests here run real herald processes built from this package.

const bootstrap = "cluster-test-bootstrap-0001"

// binary is the herald binary built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "herald-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "herald")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build herald: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// member is one herald process of a test cluster.
type member struct {
	name   string
	http   string // base URL
	gossip string
	cmd    *exec.Cmd
	done   chan struct{}

	mu  sync.Mutex
	out bytes.Buffer
}

func (m *member) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.Write(p)
}

func (m *member) output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.String()
}

// exited reports whether the process has ended.
func (m *member) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

func (m *member) signal(t *testing.T, s syscall.Signal) {
	t.Helper()
	if err := m.cmd.Process.Signal(s); err != nil {
		t.Fatalf("signal %v to %s: %v", s, m.name, err)
	}
}

// startMember runs a herald node on free loopback ports, joined through
// seeds, and waits until it is ready. It is killed when the test ends.
func startMember(t *testing.T, name string, seeds ...string) *member {
	t.Helper()
	httpAddr := freeAddr(t)
	m := &member{name: name, http: "http://" + httpAddr, gossip: freeAddr(t),
		done: make(chan struct{})}
	args := []string{"--data-dir", filepath.Join(t.TempDir(), name), "--node-name", name,
		"--http-addr", httpAddr, "--gossip-addr", m.gossip, "--remote-addr", freeAddr(t),
		"--log-level", "warn"}
	if len(seeds) > 0 {
		args = append(args, "--seeds", strings.Join(seeds, ","))
	}
	m.cmd = exec.Command(binary, args...)
	m.cmd.Env = append(os.Environ(), "HERALD_BOOTSTRAP_TOKEN="+bootstrap)
	m.cmd.Stdout, m.cmd.Stderr = m, m
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = m.cmd.Wait()
		close(m.done)
	}()
	t.Cleanup(func() {
		_ = m.cmd.Process.Signal(syscall.SIGCONT)
		_ = m.cmd.Process.Kill()
		<-m.done
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, m.output())
		}
	})
	waitFor(t, name+" ready", 30*time.Second, func() bool {
		if m.exited() {
			t.Fatalf("%s exited early:\n%s", name, m.output())
		}
		return getJSON(m.http+"/readyz", "", nil) == http.StatusOK
	})
	return m
}

// startCluster starts n members joined through the first.
func startCluster(t *testing.T, names ...string) []*member {
	t.Helper()
	var ms []*member
	for i, name := range names {
		var seeds []string
		if i > 0 {
			seeds = []string{ms[0].gossip}
		}
		ms = append(ms, startMember(t, name, seeds...))
	}
	for _, m := range ms {
		waitFor(t, m.name+" seeing every member alive in a stable ring", 90*time.Second,
			func() bool {
				st, ok := clusterOf(m)
				return ok && st.Stable && len(st.Ring) == len(names) &&
					len(st.alive()) == len(names)
			})
	}
	return ms
}

// clusterStatus is the part of GET /admin/cluster the tests read.
type clusterStatus struct {
	Stable  bool `json:"stable"`
	Ring    []struct{ Name string }
	Members []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"members"`
}

func (st clusterStatus) alive() map[string]bool {
	out := map[string]bool{}
	for _, m := range st.Members {
		if m.State == "alive" {
			out[m.Name] = true
		}
	}
	return out
}

// stateOf returns name's state in st, "" when st does not list it.
func (st clusterStatus) stateOf(name string) string {
	for _, m := range st.Members {
		if m.Name == name {
			return m.State
		}
	}
	return ""
}

func clusterOf(m *member) (clusterStatus, bool) {
	var env struct {
		Data clusterStatus `json:"data"`
	}
	ok := getJSON(m.http+"/admin/cluster", bootstrap, &env) == http.StatusOK
	return env.Data, ok
}

var client = &http.Client{Timeout: 5 * time.Second}

// getJSON GETs u and decodes the answer into out; 0 when unreachable.
func getJSON(u, token string, out any) int {
	return doJSON(client, "GET", u, token, nil, out)
}

// doJSON sends a JSON request and decodes a JSON answer into out (if
// non-nil); it returns the status code, 0 when the request failed.
func doJSON(c *http.Client, method, u, token string, body, out any) int {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return 0
	}
	return resp.StatusCode
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitFor polls cond every 20ms until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
