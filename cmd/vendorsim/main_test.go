package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/herald-im/herald/vendorsim"
)

// buildBinary compiles cmd/vendorsim into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vendorsim")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runToEnd runs bin with args and returns its exit code and stderr; the
// process is killed if it has not ended within 30 s.
func runToEnd(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	return waitExit(t, cmd), stderr.String()
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("vendorsim did not exit within 30 s")
	}
	return cmd.ProcessState.ExitCode()
}

func TestVendorsimProcess(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	credsDir := filepath.Join(dir, "creds")

	code, stderr := runToEnd(t, bin, "gen-creds", "-out", credsDir)
	if code != 0 {
		t.Fatalf("gen-creds exit %d: %s", code, stderr)
	}
	config := filepath.Join(credsDir, "vendorsim.yaml")

	t.Run("bad flags", func(t *testing.T) {
		code, stderr := runToEnd(t, bin, "-apns-port", "0")
		if code == 0 || !strings.Contains(stderr, "-config") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("without -config: exit %d, stderr %q; want non-zero and one line naming -config",
				code, stderr)
		}
	})

	t.Run("occupied port", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

		code, stderr := runToEnd(t, bin, "-config", config, "-apns-port", port)
		if code == 0 || !strings.Contains(stderr, "listen apns") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("on a taken port: exit %d, stderr %q; want non-zero and one line", code, stderr)
		}
	})

	t.Run("bad port flag", func(t *testing.T) {
		code, stderr := runToEnd(t, bin, "-config", config, "-port", "nope=1")
		if code != 2 || !strings.Contains(stderr, `unknown vendor "nope"`) {
			t.Errorf("-port nope=1: exit %d, stderr %q; want 2 naming the vendor", code, stderr)
		}
	})

	t.Run("port flag and printed endpoints", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()

		addrFile := filepath.Join(t.TempDir(), "addrs.json")
		cmd := exec.Command(bin, "-config", config, "-port", "apns="+port,
			"-addr-file", addrFile)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		addrs := pollAddrFile(t, addrFile)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, cmd); code != 0 {
			t.Errorf("exit after SIGTERM = %d, want 0", code)
		}

		if want := "https://127.0.0.1:" + port; addrs["apns"] != want {
			t.Errorf("apns = %q, want %q", addrs["apns"], want)
		}
		for _, v := range append(vendorsim.Vendors(), "control") {
			if line := v + " " + addrs[v] + "\n"; !strings.Contains(stdout.String(), line) {
				t.Errorf("stdout %q lacks %q", stdout.String(), line)
			}
		}
	})

	t.Run("serve and stop", func(t *testing.T) {
		addrFile := filepath.Join(dir, "addrs.json")
		caFile := filepath.Join(dir, "ca.pem")
		cmd := exec.Command(bin, "-config", config, "-addr-file", addrFile, "-ca-out", caFile)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		stopped := false
		defer func() {
			if !stopped {
				cmd.Process.Kill()
				cmd.Wait()
			}
		}()

		addrs := pollAddrFile(t, addrFile)
		caPEM, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatalf("read -ca-out: %v", err)
		}
		checkAPNsAnswers(t, addrs["apns"], caPEM)
		for _, v := range append(vendorsim.Vendors(), "control") {
			if !strings.HasPrefix(addrs[v], "http") {
				t.Errorf("addr file %v lacks %s", addrs, v)
			}
		}

		resp, err := http.Get(addrs["control"] + "/_sim/endpoints")
		if err != nil {
			t.Fatalf("control: %v", err)
		}
		var eps map[string]string
		err = json.NewDecoder(resp.Body).Decode(&eps)
		resp.Body.Close()
		if err != nil || eps["apns"] != addrs["apns"] {
			t.Errorf("endpoints = %v (%v), want %v", eps, err, addrs)
		}

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		stopped = true
		if code := waitExit(t, cmd); code != 0 {
			t.Errorf("exit after SIGTERM = %d, want 0", code)
		}
	})
}

// pollAddrFile waits up to 30 s for the address file to appear.
func pollAddrFile(t *testing.T, path string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(path)
		if err == nil {
			var addrs map[string]string
			if err := json.Unmarshal(data, &addrs); err != nil {
				t.Fatalf("addr file %q: %v", data, err)
			}
			return addrs
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("addr file did not appear within 30 s")
	return nil
}

// checkAPNsAnswers sends an unauthenticated push over HTTP/2, trusting
// only the written CA, and expects APNs's refusal.
func checkAPNsAnswers(t *testing.T, endpoint string, caPEM []byte) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("-ca-out holds no certificate")
	}
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	resp, err := c.Post(endpoint+"/3/device/abcd", "application/json", strings.NewReader(`{"aps":{}}`))
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	defer resp.Body.Close()
	var body struct{ Reason string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 403 || body.Reason != "MissingProviderToken" {
		t.Errorf("push without auth = %d %q, want 403 MissingProviderToken", resp.StatusCode, body.Reason)
	}
}

func TestPortFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string // "" = accepted
	}{
		{[]string{"apns=0"}, ""},
		{[]string{"apns=443", "fcm=8443"}, ""},
		{[]string{"apns"}, "want vendor=N"},
		{[]string{"=1"}, "want vendor=N"},
		{[]string{"apns=x"}, "not in 0..65535"},
		{[]string{"apns=70000"}, "not in 0..65535"},
		{[]string{"apns=1", "apns=2"}, "given twice"},
	}
	for _, tt := range tests {
		p := portFlag{}
		var err error
		for _, a := range tt.args {
			if err = p.Set(a); err != nil {
				break
			}
		}
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Set(%v) = %v, want %q", tt.args, err, tt.want)
		}
	}
	p := portFlag{"b": 2, "a": 1}
	if got := p.String(); got != "a=1,b=2" {
		t.Errorf("String = %q", got)
	}
}
