package apns

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

func TestRegisteredProviders(t *testing.T) {
	for _, p := range []string{ProviderAPNs, ProviderVoIP} {
		if _, ok := vendors.Lookup(p); !ok {
			t.Errorf("Lookup(%q) found no factory", p)
		}
		if _, ok := vendors.LookupRenderer(p); !ok {
			t.Errorf("LookupRenderer(%q) found no renderer", p)
		}
		if !slices.Contains(vendors.Providers(), p) {
			t.Errorf("Providers() = %v, lacks %q", vendors.Providers(), p)
		}
	}
}

func TestRender(t *testing.T) {
	tc := makeTestCreds(t)
	render, _ := vendors.LookupRenderer(ProviderAPNs)
	n := &messages.Notification{Title: "Hi", Body: "there", CollapseKey: "m1"}

	tests := []struct {
		name, provider, env, endpoint, token string
		wantURL, wantPushType                string
	}{
		{"production default", "apns", "", "", "ab12",
			"https://api.push.apple.com/3/device/ab12", "alert"},
		{"development default", "apns", Development, "", "ab12",
			"https://api.sandbox.push.apple.com/3/device/ab12", "alert"},
		{"endpoint override", "apns-voip", Production, "https://127.0.0.1:9/x/", "ab12",
			"https://127.0.0.1:9/x/3/device/ab12", "voip"},
	}
	for _, tt := range tests {
		notifier := &messages.Notifier{Provider: tt.provider, Environment: tt.env,
			Endpoint: tt.endpoint, Credentials: tc.p8}
		req, err := render(notifier, tt.token, n)
		if err != nil {
			t.Fatalf("%s: render = %v", tt.name, err)
		}
		if req.Method != "POST" || req.URL != tt.wantURL ||
			req.Headers[HeaderPushType] != tt.wantPushType || len(req.Body) == 0 {
			t.Errorf("%s: render = %s %s %v", tt.name, req.Method, req.URL, req.Headers)
		}
		if _, ok := req.Headers["authorization"]; ok {
			t.Errorf("%s: preview carries an auth header", tt.name)
		}
	}

	bad := &messages.Notifier{Provider: "apns", Credentials: map[string]string{}}
	var fe *vendors.FieldError
	if _, err := render(bad, "ab12", n); !errors.As(err, &fe) {
		t.Errorf("render without credentials = %v, want a FieldError", err)
	}
	good := &messages.Notifier{Provider: "apns", Credentials: tc.p8}
	if _, err := render(good, "a/b", n); !errors.Is(err, vendors.ErrBadDeviceToken) {
		t.Errorf("render with a bad token = %v, want ErrBadDeviceToken", err)
	}
}

// TestFactoryAgainstVendorsim builds the client through the registry, as
// the delivery actor does, and pushes to the emulator.
func TestFactoryAgainstVendorsim(t *testing.T) {
	sim, creds := startSim(t)
	factory, _ := vendors.Lookup(ProviderAPNs)

	notifier := &messages.Notifier{Provider: "apns", Environment: Development,
		Endpoint: sim.Endpoint("apns"), Credentials: creds.Vendors["apns"]}
	c, err := factory(vendors.Config{Notifier: notifier, Logger: testLogger(t),
		RequestTimeout: 5 * time.Second, Now: time.Now})
	if err != nil {
		t.Fatalf("factory = %v", err)
	}
	defer c.Close()
	r := c.Push(context.Background(), "0a1b2c", &messages.Notification{Body: "b"}, testAPNsID)
	if r.Class != vendors.Delivered || r.VendorID != testAPNsID {
		t.Errorf("Push = %+v, want delivered with the apns-id", r)
	}

	notifier.Credentials = map[string]string{"bundle_id": "x", "auth_type": "p8"}
	var fe *vendors.FieldError
	if _, err := factory(vendors.Config{Notifier: notifier}); !errors.As(err, &fe) ||
		fe.Field != "credentials.key_id" && fe.Field != "credentials.private_key" {
		t.Errorf("factory with missing key = %v, want a credentials FieldError", err)
	}
	if _, err := factory(vendors.Config{}); !errors.As(err, &fe) || fe.Field != "notifier" {
		t.Errorf("factory without notifier = %v, want FieldError notifier", err)
	}
}
