package meizu

import (
	"errors"
	"net/url"
	"testing"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

func TestFactoryValidates(t *testing.T) {
	factory, _ := vendors.Lookup(Provider)
	good := map[string]string{"app_id": "1", "app_secret": "s", "package_name": "p"}
	tests := []struct {
		name  string
		n     *messages.Notifier
		field string
	}{
		{"no notifier", nil, "notifier"},
		{"missing secret", &messages.Notifier{Provider: Provider,
			Credentials: map[string]string{"app_id": "1", "package_name": "p"}},
			"credentials.app_secret"},
		{"bad endpoint", &messages.Notifier{Provider: Provider, Credentials: good,
			Endpoint: "mailto:x"}, "endpoint"},
	}
	for _, tt := range tests {
		c, err := factory(vendors.Config{Notifier: tt.n})
		var fe *vendors.FieldError
		if c != nil || !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%s: client %v, err %v; want a %s field error", tt.name, c, err, tt.field)
		}
	}
	c, err := factory(vendors.Config{Notifier: &messages.Notifier{Provider: Provider,
		Credentials: good}})
	if err != nil || c == nil {
		t.Fatalf("factory: %v", err)
	}
	c.Close()
}

func TestRenderKeepsPlainHTTPDefault(t *testing.T) {
	render, ok := vendors.LookupRenderer(Provider)
	if !ok {
		t.Fatal("no meizu renderer")
	}
	n := &messages.Notifier{Provider: Provider,
		Credentials: map[string]string{"app_id": "1", "app_secret": "s", "package_name": "p"}}
	req, err := render(n, "pid-1", &messages.Notification{Title: "t", Body: "b"})
	if err != nil {
		t.Fatal(err)
	}
	want := "http://server-api-push.meizu.com/garcia/api/server/push/varnished/pushByPushId"
	if req.URL != want {
		t.Errorf("URL = %s, want %s", req.URL, want)
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil || form.Get("pushIds") != "pid-1" || form.Get("sign") != Sign(form, "s") {
		t.Errorf("form %s (%v)", req.Body, err)
	}
}
