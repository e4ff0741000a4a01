package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// sim is a running vendorsim process.
type sim struct {
	*proc
	apns    string // APNs base URL
	control string // inspection API base URL
	caFile  string
	creds   string // directory written by gen-creds
}

// startSim writes credentials with `vendorsim gen-creds` and starts the
// emulator on free ports, as the README's quickstart does.
func startSim(t *testing.T) *sim {
	t.Helper()
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	gen := start(t, "vendorsim", nil, "gen-creds", "-out", creds)
	<-gen.done
	if gen.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("vendorsim gen-creds failed:\n%s", gen.output())
	}

	addrFile := filepath.Join(dir, "addrs.json")
	caFile := filepath.Join(dir, "ca.pem")
	p := start(t, "vendorsim", nil,
		"-config", filepath.Join(creds, "vendorsim.yaml"),
		"-addr-file", addrFile, "-ca-out", caFile, "-control", "127.0.0.1:0")

	var addrs map[string]string
	waitFor(t, "vendorsim address file", 20*time.Second, func() bool {
		b, err := os.ReadFile(addrFile)
		return err == nil && json.Unmarshal(b, &addrs) == nil && addrs["apns"] != "" &&
			addrs["control"] != ""
	})
	return &sim{proc: p, apns: addrs["apns"], control: addrs["control"], caFile: caFile,
		creds: creds}
}

// simRecord is the part of a vendorsim record the tests assert on.
type simRecord struct {
	Seq     uint64            `json:"seq"`
	Vendor  string            `json:"vendor"`
	Token   string            `json:"token"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Auth    struct {
		Scheme  string `json:"scheme"`
		Subject string `json:"subject"`
	} `json:"auth"`
	Payload map[string]any `json:"payload"`
	Status  int            `json:"status"`
	Outcome string         `json:"outcome"`
}

// wait blocks until vendorsim holds n records matching the query.
func (s *sim) wait(t *testing.T, n int, query url.Values) []simRecord {
	t.Helper()
	query.Set("count", fmt.Sprint(n))
	query.Set("timeout", "20s")
	var recs []simRecord
	var wrapped struct {
		Records []simRecord `json:"records"`
	}
	var raw json.RawMessage
	code := httpJSON(t, "GET", s.control+"/_sim/wait?"+query.Encode(), "", nil, &raw)
	if code != 200 {
		t.Fatalf("vendorsim wait for %d records (%v): status %d", n, query, code)
	}
	if err := json.Unmarshal(raw, &recs); err != nil {
		if err := json.Unmarshal(raw, &wrapped); err != nil {
			t.Fatalf("decode vendorsim records %s: %v", raw, err)
		}
		recs = wrapped.Records
	}
	return recs
}

// apnsCreds reads the APNs team, key id, bundle id and .p8 key that
// gen-creds wrote.
func (s *sim) apnsCreds(t *testing.T) (teamID, keyID, bundleID, p8 string) {
	t.Helper()
	var cfg struct {
		APNs struct {
			Teams []struct {
				TeamID    string            `yaml:"team_id"`
				Keys      map[string]string `yaml:"keys"`
				BundleIDs []string          `yaml:"bundle_ids"`
			} `yaml:"teams"`
		} `yaml:"apns"`
	}
	b, err := os.ReadFile(filepath.Join(s.creds, "vendorsim.yaml"))
	if err != nil {
		t.Fatalf("read vendorsim credentials: %v", err)
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil || len(cfg.APNs.Teams) == 0 {
		t.Fatalf("decode vendorsim credentials: %v\n%s", err, b)
	}
	team := cfg.APNs.Teams[0]
	for id := range team.Keys {
		keyID = id
	}
	key, err := os.ReadFile(filepath.Join(s.creds, "apns.p8"))
	if err != nil {
		t.Fatal(err)
	}
	return team.TeamID, keyID, team.BundleIDs[0], string(key)
}

// node is a running herald process.
type node struct {
	*proc
	dataDir string
	http    string // base URL
	gossip  string
	remote  string
}

const bootstrapToken = "e2e-bootstrap-token"

// startNode runs herald on free ports with dataDir, trusting the sim's CA.
func startNode(t *testing.T, s *sim, dataDir string) *node {
	t.Helper()
	n := &node{dataDir: dataDir, http: freeAddr(t), gossip: freeAddr(t), remote: freeAddr(t)}
	n.proc = start(t, "herald", []string{
		"HERALD_BOOTSTRAP_TOKEN=" + bootstrapToken,
		"SSL_CERT_FILE=" + s.caFile,
	},
		"--data-dir", dataDir, "--http-addr", n.http, "--gossip-addr", n.gossip,
		"--remote-addr", n.remote, "--node-name", "e2e-node")
	n.http = "http://" + n.http

	waitFor(t, "herald /readyz", 30*time.Second, func() bool {
		select {
		case <-n.done:
			t.Fatalf("herald exited early:\n%s", n.output())
		default:
		}
		var body map[string]any
		return tryJSON("GET", n.http+"/readyz", &body) == 200
	})
	return n
}

func (n *node) url(path string) string {
	return n.http + "/org1/app1" + path
}

// tryJSON is httpJSON without failing the test on transport errors, for
// polling a server that is still starting.
func tryJSON(method, u string, out any) int {
	req, err := newRequest(method, u)
	if err != nil {
		return 0
	}
	resp, err := shortClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(out)
	return resp.StatusCode
}

func hexToken(seed string) string {
	return strings.Repeat(fmt.Sprintf("%x", seed), 64)[:64]
}
