package vivo

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

func TestFactoryValidates(t *testing.T) {
	factory, _ := vendors.Lookup(Provider)
	good := map[string]string{"app_id": "1", "app_key": "k", "app_secret": "s",
		"package_name": "p"}
	tests := []struct {
		name  string
		n     *messages.Notifier
		field string
	}{
		{"no notifier", nil, "notifier"},
		{"missing key", &messages.Notifier{Provider: Provider,
			Credentials: map[string]string{"app_id": "1"}}, "credentials.app_key"},
		{"bad endpoint", &messages.Notifier{Provider: Provider, Credentials: good,
			Endpoint: "ftp://x"}, "endpoint"},
		{"bad auth endpoint", &messages.Notifier{Provider: Provider, Credentials: good,
			AuthEndpoint: "::"}, "auth_endpoint"},
	}
	for _, tt := range tests {
		c, err := factory(vendors.Config{Notifier: tt.n})
		var fe *vendors.FieldError
		if c != nil || !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%s: client %v, err %v; want a %s field error", tt.name, c, err, tt.field)
		}
	}

	// A valid notifier builds without contacting vivo (the host does
	// not resolve here).
	c, err := factory(vendors.Config{Notifier: &messages.Notifier{Provider: Provider,
		Credentials: good, Endpoint: "https://vivo.invalid"}})
	if err != nil || c == nil {
		t.Fatalf("factory: %v", err)
	}
	c.Close()
}

func TestRender(t *testing.T) {
	render, ok := vendors.LookupRenderer(Provider)
	if !ok {
		t.Fatal("no vivo renderer")
	}
	n := &messages.Notifier{Provider: Provider, Endpoint: "https://push.example/base/",
		Credentials: map[string]string{"app_id": "1", "app_key": "k", "app_secret": "s",
			"package_name": "p"}}
	note := &messages.Notification{Title: "t", Body: "b", CollapseKey: "m1"}
	req, err := render(n, "regid-1", note)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" || req.URL != "https://push.example/base/message/send" {
		t.Errorf("request %s %s", req.Method, req.URL)
	}
	if _, ok := req.Headers["authToken"]; ok {
		t.Error("preview carries an authToken")
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil || body["regId"] != "regid-1" ||
		body["requestId"] != RequestID("", note, "regid-1") {
		t.Errorf("body %s (%v)", req.Body, err)
	}
	if _, err := render(n, "", note); !errors.Is(err, vendors.ErrBadDeviceToken) {
		t.Errorf("empty token: err = %v", err)
	}
}
