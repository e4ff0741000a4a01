package apns

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendorsim"
	"github.com/herald-im/herald/vendorsim/simtest"
)

// startSim runs vendorsim with fresh credentials and trusts its CA.
func startSim(t *testing.T) (*vendorsim.Sim, *vendorsim.Creds) {
	return simtest.Start(t, "", nil)
}

func simClient(t *testing.T, sim *vendorsim.Sim, creds *vendorsim.Creds, provider,
	auth string, timeout time.Duration) *Client {
	t.Helper()
	a := creds.APNs
	fields := map[string]string{"bundle_id": a.BundleID, "auth_type": auth,
		"key_id": a.KeyID, "team_id": a.TeamID, "private_key": string(a.P8PEM),
		"certificate": a.P12Base64, "password": a.P12Password}
	parsed, err := ParseCredentials(provider, fields)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Credentials: parsed, Environment: Development,
		Endpoint: sim.Endpoint("apns"), Logger: testLogger(t), RequestTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestClientAgainstVendorsim(t *testing.T) {
	sim, creds := startSim(t)
	p8 := simClient(t, sim, creds, "apns", AuthP8, 300*time.Millisecond)
	p12 := simClient(t, sim, creds, "apns-voip", AuthP12, 300*time.Millisecond)
	n := &messages.Notification{Title: "Hi", Body: "there", CollapseKey: "m1",
		Custom: []byte(`{"f":"ann","t":"bob","m":"m1"}`)}

	tests := []struct {
		name   string
		client *Client
		token  string
		class  vendors.Class
		reason string
	}{
		{"p8 delivered", p8, "0a1b2c3d4e5f", vendors.Delivered, ""},
		{"p12 voip delivered", p12, "0a1b2c3d4e5f", vendors.Delivered, ""},
		{"dead", p8, "dead77", vendors.TokenInvalid, "Unregistered"},
		{"baddev", p8, "baddev77", vendors.TokenInvalid, "BadDeviceToken"},
		{"non-hex", p8, "zz-not-hex", vendors.TokenInvalid, "BadDeviceToken"},
		{"throttle", p8, "throttle77", vendors.Throttled, "TooManyRequests"},
		{"fail", p8, "fail77", vendors.Retryable, "InternalServerError"},
		{"flaky first", p8, "flaky77", vendors.Retryable, "ServiceUnavailable"},
		{"flaky again", p8, "flaky77", vendors.Delivered, ""},
		{"hang times out", p8, "hang77", vendors.Retryable, ""},
	}
	for _, tt := range tests {
		r := tt.client.Push(context.Background(), tt.token, n, testAPNsID)
		if r.Class != tt.class || r.Reason != tt.reason {
			t.Errorf("%s: Push = %+v, want %v %q", tt.name, r, tt.class, tt.reason)
		}
		if tt.class == vendors.Delivered && r.VendorID != testAPNsID {
			t.Errorf("%s: VendorID = %q, want %q", tt.name, r.VendorID, testAPNsID)
		}
	}

	dead := sim.Received(vendorsim.Filter{Token: "dead77"})
	if len(dead) != 1 {
		t.Fatalf("emulator saw %d pushes to dead77, want 1", len(dead))
	}
	r := p8.Push(context.Background(), "dead77", n, testAPNsID)
	if r.Timestamp <= 0 || r.Timestamp > time.Now().UnixMilli() {
		t.Errorf("410 timestamp = %d, want the emulator's ms time", r.Timestamp)
	}
	hang := p8.Push(context.Background(), "hang78", n, testAPNsID)
	if !errors.Is(hang.Err, context.DeadlineExceeded) {
		t.Errorf("hang: Err = %v, want a deadline", hang.Err)
	}
}

// TestClientConcurrentPushes runs many pushes at once over the shared
// HTTP/2 connection.
func TestClientConcurrentPushes(t *testing.T) {
	sim, creds := startSim(t)
	c := simClient(t, sim, creds, "apns", AuthP8, 0)

	const pushes = 200
	var wg sync.WaitGroup
	results := make([]vendors.Result, pushes)
	for i := range pushes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := fmt.Sprintf("%064x", i+1)
			results[i] = c.Push(context.Background(), tok,
				&messages.Notification{Body: "b"}, testAPNsID)
		}()
	}
	wg.Wait()

	for i, r := range results {
		if r.Class != vendors.Delivered {
			t.Fatalf("push %d = %+v, want delivered", i, r)
		}
	}
	if got := len(sim.Received(vendorsim.Filter{Vendor: "apns"})); got != pushes {
		t.Errorf("emulator saw %d pushes, want %d", got, pushes)
	}
}
