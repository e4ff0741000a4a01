package e2e

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bind points bob's device at token on apns-dev.
func (q *quickstart) bind(t *testing.T, device, token string) {
	t.Helper()
	var bound envelope
	if code := httpJSON(t, "PUT", q.node.url("/users/bob/push/binding"), q.token, map[string]any{
		"device_id": device, "device_token": token, "notifier_name": "apns-dev",
	}, &bound); code != 200 {
		t.Fatalf("bind %s: status %d %+v", device, code, bound)
	}
}

func (q *quickstart) bindings(t *testing.T) []map[string]any {
	t.Helper()
	var got envelope
	if code := httpJSON(t, "GET", q.node.url("/users/bob/push/binding"), q.token, nil,
		&got); code != 200 {
		t.Fatalf("get bindings: status %d %+v", code, got)
	}
	return got.Entities
}

// TestVendorAnswers checks what Herald does with APNs' answers: an invalid
// token unbinds the device (SPEC.md §2.6), a failing vendor never loses the
// binding, and a push that failed is reported as failed.
func TestVendorAnswers(t *testing.T) {
	s := startSim(t)
	n := startNode(t, s, t.TempDir())
	q := setUp(t, s, n)

	// 410 Unregistered: the binding goes, the next message finds none.
	dead := "dead" + hexToken("x")[4:]
	q.bind(t, "d1", dead)
	res := q.pushREST(t, "u1")
	if res["failed"] != float64(1) {
		t.Fatalf("push to a dead token answered %v, want 1 failed", res)
	}
	s.wait(t, 1, url.Values{"token": {dead}, "outcome": {"token-invalid"}})
	waitFor(t, "the invalid binding to be removed", 10*time.Second, func() bool {
		return len(q.bindings(t)) == 0
	})
	if res := q.pushREST(t, "u2"); res["skipped"] != float64(1) {
		t.Fatalf("push after unbind answered %v, want skipped (no push binding)", res)
	}

	// 500 on every attempt: retried, reported as failed, binding kept.
	failing := "fail" + hexToken("y")[4:]
	q.bind(t, "d2", failing)
	if res := q.pushREST(t, "u3"); res["failed"] != float64(1) {
		t.Fatalf("push to a failing vendor answered %v, want 1 failed", res)
	}
	attempts := s.wait(t, 3, url.Values{"token": {failing}})
	if len(attempts) != 3 {
		t.Fatalf("vendorsim saw %d attempts for a failing token, want 3 (1 + 2 retries)",
			len(attempts))
	}
	got := q.bindings(t)
	if len(got) != 1 || got[0]["device_token"] != failing {
		t.Fatalf("bindings after vendor failures = %v, want the failing one kept", got)
	}
}

// TestBadInput checks the REST error envelope and that refused input
// changes nothing (SPEC.md §11.1).
func TestBadInput(t *testing.T) {
	s := startSim(t)
	n := startNode(t, s, t.TempDir())
	q := setUp(t, s, n)

	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		errCode, desc             string
	}{
		{"unknown path", "GET", "/no/such/thing", q.token, nil, 404,
			"service_resource_not_found", "url is invalid"},
		{"no token", "GET", "/users/bob/push/binding", "", nil, 401, "unauthorized", ""},
		{"wrong token", "GET", "/users/bob/push/binding", "not-a-token", nil, 401,
			"unauthorized", ""},
		{"binding without device_id", "PUT", "/users/bob/push/binding", q.token,
			map[string]any{"device_token": "t", "notifier_name": "apns-dev"}, 400,
			"illegal_argument", "parameters is invalid : device_id"},
		{"unknown presence state", "PUT", "/users/bob/presence/d1", q.token,
			map[string]any{"state": "asleep"}, 400, "illegal_argument",
			"parameters is invalid : state"},
		{"message without msg_id", "POST", "/push/messages", q.token,
			map[string]any{"from": "alice", "chat_type": "chat", "to": []string{"bob"},
				"body": map[string]any{"type": "txt", "text": "hi"}}, 400,
			"illegal_argument", "parameters is invalid : msg_id"},
		{"notifier missing team_id", "POST", "/push/notifiers", q.token,
			map[string]any{"name": "x", "provider": "apns", "credentials": map[string]any{
				"bundle_id": "b", "auth_type": "p8", "key_id": "k", "private_key": "p"}},
			400, "illegal_argument", "parameters is invalid : credentials.team_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got envelope
			url := n.url(c.path)
			if strings.HasPrefix(c.path, "/no/") {
				url = n.http + c.path
			}
			code := httpJSON(t, c.method, url, c.token, c.body, &got)
			if code != c.status || got.Error != c.errCode || c.desc != "" && got.Desc != c.desc {
				t.Fatalf("%s %s = %d %q %q, want %d %q %q", c.method, c.path, code, got.Error,
					got.Desc, c.status, c.errCode, c.desc)
			}
		})
	}

	// Another app's token is refused on this app.
	var other envelope
	httpJSON(t, "POST", n.http+"/management/orgs/org2/apps", bootstrapToken,
		map[string]any{"name": "app2"}, &other)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	httpJSON(t, "POST", n.http+"/org2/app2/token", "", map[string]any{
		"grant_type": "client_credentials", "client_id": other.Data["client_id"],
		"client_secret": other.Data["client_secret"]}, &tok)
	var denied envelope
	if code := httpJSON(t, "GET", n.url("/users/bob/push/binding"), tok.AccessToken, nil,
		&denied); code != 403 {
		t.Fatalf("other app's token on org1/app1 = %d, want 403", code)
	}

	// Nothing refused above left a trace: bob has only setUp's binding.
	if got := q.bindings(t); len(got) != 1 || got[0]["device_token"] != q.device {
		t.Fatalf("refused requests changed bindings: %v", got)
	}
}

// TestCommandLineErrors checks that herald and vendorsim exit non-zero with
// a one-line reason on bad flags and on an occupied port.
func TestCommandLineErrors(t *testing.T) {
	busy := freeAddrHeld(t)

	cases := []struct {
		name string
		bin  string
		args []string
		code int
	}{
		{"herald unknown flag", "herald", []string{"--no-such-flag"}, 2},
		{"herald bad seeds", "herald", []string{"--seeds", "not an address"}, 2},
		{"herald occupied http port", "herald", []string{"--data-dir", t.TempDir(),
			"--http-addr", busy, "--gossip-addr", freeAddr(t), "--remote-addr", freeAddr(t)}, 1},
		{"vendorsim unknown flag", "vendorsim", []string{"-no-such-flag"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := start(t, c.bin, nil, c.args...)
			<-p.done
			out := strings.TrimSpace(p.output())
			if got := p.cmd.ProcessState.ExitCode(); got != c.code {
				t.Fatalf("exit code %d, want %d; output:\n%s", got, c.code, out)
			}
			last := out[strings.LastIndex(out, "\n")+1:]
			if !strings.HasPrefix(last, c.bin+":") {
				t.Fatalf("last line %q does not start with %q", last, c.bin+":")
			}
		})
	}
}

// TestCertificateAuth pushes through a notifier that authenticates with the
// .p12 client certificate instead of a JWT.
func TestCertificateAuth(t *testing.T) {
	s := startSim(t)
	n := startNode(t, s, t.TempDir())
	q := setUp(t, s, n)

	p12, err := os.ReadFile(filepath.Join(s.creds, "apns.p12"))
	if err != nil {
		t.Fatal(err)
	}
	password, err := os.ReadFile(filepath.Join(s.creds, "apns.p12.password"))
	if err != nil {
		t.Fatal(err)
	}
	var created envelope
	if code := httpJSON(t, "POST", n.url("/push/notifiers"), q.token, map[string]any{
		"name": "apns-cert", "provider": "apns", "environment": "production",
		"endpoint": s.apns,
		"credentials": map[string]any{
			"bundle_id": q.bundle, "auth_type": "p12",
			"certificate": b64(p12), "password": strings.TrimSpace(string(password)),
		},
	}, &created); code != 200 {
		t.Fatalf("create p12 notifier: status %d %+v", code, created)
	}
	if cert, _ := created.Data["credentials"].(map[string]any)["certificate"].(string); cert != "******" {
		t.Fatalf("notifier answer shows certificate %q, want ******", cert)
	}

	var bound envelope
	httpJSON(t, "PUT", n.url("/users/bob/push/binding"), q.token, map[string]any{
		"device_id": "d1", "device_token": q.device, "notifier_name": "apns-cert"}, &bound)
	// d1 now has two bindings (apns-dev and apns-cert): both are pushed.
	if res := q.pushREST(t, "c1"); res["pushed"] != float64(1) {
		t.Fatalf("push answered %v, want bob pushed", res)
	}
	recs := s.wait(t, 2, url.Values{"vendor": {"apns"}})
	schemes := map[string]bool{}
	for _, r := range recs {
		schemes[r.Auth.Scheme] = true
		if r.Status != 200 {
			t.Errorf("vendorsim answered %d (%s) with auth %+v", r.Status, r.Outcome, r.Auth)
		}
	}
	if !schemes["cert"] || !schemes["bearer"] {
		t.Fatalf("auth schemes seen %v, want one cert and one bearer push", schemes)
	}
}
