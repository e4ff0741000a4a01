package xiaomi

import (
	"context"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendorsim"
)

// startSim runs an in-process vendorsim with fresh credentials and a
// client of its xiaomi app; both stop when the test ends.
func startSim(t *testing.T, mutate func(n *messages.Notifier)) (*vendorsim.Sim, *Client) {
	t.Helper()
	creds, err := vendorsim.GenCreds(t.TempDir())
	if err != nil {
		t.Fatalf("GenCreds: %v", err)
	}
	sim, err := vendorsim.Start(vendorsim.Config{CredsFile: creds.ConfigFile})
	if err != nil {
		t.Fatalf("vendorsim: %v", err)
	}
	t.Cleanup(func() { sim.Close() })

	n := &messages.Notifier{Provider: Provider, Endpoint: sim.Endpoint(Provider),
		AuthEndpoint: sim.Endpoint(Provider), Credentials: creds.Vendors[Provider],
		Enabled: true}
	if mutate != nil {
		mutate(n)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CAPEM())
	f, _ := vendors.Lookup(Provider)
	vc, err := f(vendors.Config{Notifier: n, RootCAs: pool, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("newClient: %v", err)
	}
	t.Cleanup(vc.Close)
	return sim, vc.(*Client)
}

func waitRecords(t *testing.T, sim *vendorsim.Sim, n int,
	f vendorsim.Filter) []vendorsim.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.Vendor = Provider
	recs, err := sim.Wait(ctx, n, f)
	if err != nil {
		t.Fatalf("wait for %d records: %v", n, err)
	}
	return recs
}

func TestSimDelivered(t *testing.T) {
	sim, c := startSim(t, nil)
	res := c.Push(context.Background(), "regid-good-1", testNote(), "")
	if res.Class != vendors.Delivered || res.VendorID == "" || res.Err != nil {
		t.Fatalf("Push = %+v, want delivered with an id", res)
	}
	r := waitRecords(t, sim, 1, vendorsim.Filter{})[0]
	if r.Path != "/v3/message/regid" || r.Token != "regid-good-1" ||
		r.Auth.Scheme != "key" || r.App != "im.herald.demo" {
		t.Errorf("record = %+v", r)
	}
	if r.Headers["authorization"] != "key=***" {
		t.Errorf("recorded authorization %q, want it masked", r.Headers["authorization"])
	}
}

func TestSimOutcomes(t *testing.T) {
	sim, c := startSim(t, nil)
	tests := []struct {
		token      string
		want       vendors.Class
		retryAfter bool
	}{
		{"flakyA1", vendors.Retryable, true},
		{"flakyA1", vendors.Delivered, false}, // second attempt succeeds
		{"failB2", vendors.Retryable, false},
		{"throttleC3", vendors.Throttled, true},
		{"deadD4", vendors.Delivered, false}, // accepted, listed by feedback
	}
	for _, tt := range tests {
		res := c.Push(context.Background(), tt.token, testNote(), "")
		if res.Class != tt.want {
			t.Errorf("Push(%s) = %v (%+v), want %v", tt.token, res.Class, res, tt.want)
		}
		if tt.retryAfter && res.RetryAfter != time.Second {
			t.Errorf("Push(%s) RetryAfter = %v, want 1s", tt.token, res.RetryAfter)
		}
	}
	if got := len(waitRecords(t, sim, len(tests), vendorsim.Filter{})); got != len(tests) {
		t.Errorf("vendorsim saw %d sends, want %d", got, len(tests))
	}
}

func TestSimPayloadAndCredentialErrors(t *testing.T) {
	_, c := startSim(t, func(n *messages.Notifier) {
		n.Credentials = copyMap(n.Credentials)
		n.Credentials["package_name"] = "im.other.app"
	})
	res := c.Push(context.Background(), "regid-1", testNote(), "")
	if res.Class != vendors.PayloadError || res.Reason != "21305" {
		t.Errorf("Push with a foreign package = %+v, want payload-error 21305", res)
	}

	n := testNote()
	n.Custom = []byte(`"not an object"`)
	if res := c.Push(context.Background(), "regid-1", n, ""); res.Class != vendors.PayloadError ||
		!errors.Is(res.Err, vendors.ErrBadCustom) {
		t.Errorf("Push with bad custom = %+v, want payload-error without a request", res)
	}

	_, bad := startSim(t, func(n *messages.Notifier) {
		n.Credentials = copyMap(n.Credentials)
		n.Credentials["app_secret"] = "wrong-secret"
	})
	res = bad.Push(context.Background(), "regid-1", testNote(), "")
	if res.Class != vendors.CredentialError || res.HTTPStatus != 401 || res.Reason != "21301" {
		t.Errorf("Push with a wrong secret = %+v, want credential-error 401/21301", res)
	}
	if _, err := bad.FetchInvalid(context.Background()); !errors.Is(err, ErrFeedback) {
		t.Errorf("FetchInvalid with a wrong secret: %v, want ErrFeedback", err)
	}
}

func TestSimFeedbackListsDeadOnce(t *testing.T) {
	_, c := startSim(t, nil)
	ctx := context.Background()
	for _, tok := range []string{"deadA", "regid-ok", "deadB", "deadA"} {
		if res := c.Push(ctx, tok, testNote(), ""); res.Class != vendors.Delivered {
			t.Fatalf("Push(%s) = %+v, want delivered", tok, res)
		}
	}

	got, err := c.FetchInvalid(ctx)
	if err != nil {
		t.Fatalf("FetchInvalid: %v", err)
	}
	if !slices.Equal(got, []string{"deadA", "deadB"}) {
		t.Errorf("FetchInvalid = %v, want [deadA deadB]", got)
	}
	got, err = c.FetchInvalid(ctx)
	if err != nil || len(got) != 0 {
		t.Errorf("second FetchInvalid = %v, %v; want none (each handed out once)", got, err)
	}
}

func TestPollInvalidReportsAndStops(t *testing.T) {
	_, c := startSim(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if res := c.Push(ctx, "deadPoll", testNote(), ""); res.Class != vendors.Delivered {
		t.Fatalf("Push = %+v", res)
	}

	found := make(chan []string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.PollInvalid(ctx, 10*time.Millisecond, func(tokens []string) { found <- tokens })
	}()
	select {
	case tokens := <-found:
		if !slices.Equal(tokens, []string{"deadPoll"}) {
			t.Errorf("PollInvalid found %v, want [deadPoll]", tokens)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("PollInvalid reported nothing within 10s")
	}
	c.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("PollInvalid did not return after Close")
	}
	if res := c.Push(ctx, "r", testNote(), ""); !errors.Is(res.Err, vendors.ErrClosed) {
		t.Errorf("Push after Close = %+v, want ErrClosed", res)
	}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestSimHangIsRetryable(t *testing.T) {
	_, c := startSim(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res := c.Push(ctx, "hangH1", testNote(), "")
	if res.Class != vendors.Retryable || res.Err == nil || res.HTTPStatus != 0 {
		t.Errorf("Push(hang) = %+v, want retryable without an answer", res)
	}
	if strings.Contains(res.Err.Error(), "hangH1") {
		t.Errorf("error %q names the device token", res.Err)
	}
}
