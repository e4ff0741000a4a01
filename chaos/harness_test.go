package chaos

import (
	"bufio"
	"bytes"
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

// binDir holds herald, vendorsim and heraldbench, built once.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "herald-chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos: temp dir:", err)
		os.Exit(1)
	}
	binDir = dir
	for _, name := range []string{"herald", "vendorsim", "heraldbench"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "../cmd/"+name)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "chaos: build %s: %v\n%s", name, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one run of a built binary; its output is kept (the last
// maxOutput bytes) for the test log.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}

	mu  sync.Mutex
	out bytes.Buffer
}

const maxOutput = 256 << 10

// start runs binary name with args and env. The process is killed, if
// still running, when the test ends.
func start(t *testing.T, label, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: label, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binDir, name), args...)
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", label, err)
	}
	go p.collect(pr)
	go func() {
		_ = p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- %s output (tail) ---\n%s", label, tail(p.output(), 40))
			keepLog(t, label, p.output())
		}
	})
	return p
}

// keepLog writes a failed test's process output to $HERALD_CHAOS_LOGDIR,
// when set, for a look beyond the tail.
func keepLog(t *testing.T, label, out string) {
	dir := os.Getenv("HERALD_CHAOS_LOGDIR")
	if dir == "" {
		return
	}
	name := strings.NewReplacer(" ", "_", "/", "_").Replace(t.Name() + "-" + label)
	if err := os.WriteFile(filepath.Join(dir, name+".log"), []byte(out), 0o644); err != nil {
		t.Logf("keep log of %s: %v", label, err)
	}
}

func (p *proc) collect(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		if p.out.Len() > maxOutput {
			rest := p.out.Bytes()[maxOutput/2:]
			p.out = *bytes.NewBuffer(append([]byte(nil), rest...))
		}
		p.out.WriteString(sc.Text() + "\n")
		p.mu.Unlock()
	}
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL (a SIGSTOPped process dies too) and waits.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) signal(sig syscall.Signal) {
	if !p.exited() {
		_ = p.cmd.Process.Signal(sig)
	}
}

// stop sends SIGTERM and waits up to within for the exit; it reports
// whether the process exited cleanly (code 0).
func (p *proc) stop(within time.Duration) (clean bool) {
	p.signal(syscall.SIGCONT)
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(within):
		p.kill()
		return false
	}
	return p.cmd.ProcessState.ExitCode() == 0
}

// wait waits up to within for the process to exit by itself.
func (p *proc) wait(within time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(within):
		return false
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitFor polls cond every 100 ms until it holds or within passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var shortClient = &http.Client{Timeout: 3 * time.Second}

// getJSON GETs u with an optional bearer token and decodes a 200 answer.
func getJSON(u, token string, out any) bool {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return false
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := shortClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(out) == nil
}

// sim is a running vendorsim.
type sim struct {
	*proc
	addrFile  string // -addr-file: vendor and control URLs
	notifiers string // gen-creds notifiers.json
	caFile    string
	control   string
}

// startSim writes fresh credentials and starts vendorsim on free ports.
func startSim(t *testing.T) *sim {
	t.Helper()
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	gen := start(t, "vendorsim gen-creds", "vendorsim", nil, "gen-creds", "-out", creds)
	if !gen.wait(30*time.Second) || gen.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("vendorsim gen-creds failed:\n%s", gen.output())
	}
	s := &sim{addrFile: filepath.Join(dir, "addrs.json"),
		notifiers: filepath.Join(creds, "notifiers.json"), caFile: filepath.Join(dir, "ca.pem")}
	s.proc = start(t, "vendorsim", "vendorsim", nil,
		"-config", filepath.Join(creds, "vendorsim.yaml"), "-addr-file", s.addrFile,
		"-ca-out", s.caFile, "-control", "127.0.0.1:0")
	waitFor(t, "vendorsim address file", 20*time.Second, func() bool {
		var addrs map[string]string
		b, err := os.ReadFile(s.addrFile)
		if err != nil || json.Unmarshal(b, &addrs) != nil || addrs["apns"] == "" {
			return false
		}
		s.control = addrs["control"]
		return s.control != ""
	})
	return s
}
