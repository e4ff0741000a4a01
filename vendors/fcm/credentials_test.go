package fcm

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/herald-im/herald/vendors"
)

// testAccount returns a service-account JSON with a fresh RSA key; fields
// in patch replace or (with value nil) remove members.
func testAccount(t *testing.T, patch map[string]any) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	acct := map[string]any{
		"type": "service_account", "project_id": "demo-1", "private_key_id": "kid1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "push@demo-1.iam.gserviceaccount.com",
		"token_uri":    "https://oauth2.googleapis.com/token",
	}
	for k, v := range patch {
		if v == nil {
			delete(acct, k)
		} else {
			acct[k] = v
		}
	}
	b, err := json.Marshal(acct)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseCredentials(t *testing.T) {
	good := testAccount(t, nil)
	c, err := ParseCredentials(map[string]string{"service_account": good,
		"channel_id": "chat", "sound": "ping", "priority": "normal"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ProjectID != "demo-1" || c.ClientEmail != "push@demo-1.iam.gserviceaccount.com" ||
		c.KeyID != "kid1" || c.PrivateKey == nil || c.ChannelID != "chat" ||
		c.Sound != "ping" || c.Priority != PriorityNormal {
		t.Errorf("parsed %+v", c)
	}
	c, err = ParseCredentials(map[string]string{"service_account": good, "project_id": "p2"})
	if err != nil || c.ProjectID != "p2" || c.Priority != PriorityHigh {
		t.Errorf("project override: %+v, %v", c, err)
	}

	pkcs1 := func() string {
		key, _ := rsa.GenerateKey(rand.Reader, 1024)
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
			Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	}()
	if _, err := ParseCredentials(map[string]string{
		"service_account": testAccount(t, map[string]any{"private_key": pkcs1})}); err != nil {
		t.Errorf("PKCS#1 key refused: %v", err)
	}

	bad := []struct {
		name  string
		creds map[string]string
		field string
	}{
		{"missing", map[string]string{}, "credentials.service_account"},
		{"not json", map[string]string{"service_account": "{"}, "credentials.service_account"},
		{"wrong type", map[string]string{"service_account": testAccount(t,
			map[string]any{"type": "authorized_user"})}, "credentials.service_account"},
		{"no email", map[string]string{"service_account": testAccount(t,
			map[string]any{"client_email": nil})}, "credentials.service_account"},
		{"no key", map[string]string{"service_account": testAccount(t,
			map[string]any{"private_key": nil})}, "credentials.service_account"},
		{"key not pem", map[string]string{"service_account": testAccount(t,
			map[string]any{"private_key": "abc"})}, "credentials.service_account"},
		{"http token uri", map[string]string{"service_account": testAccount(t,
			map[string]any{"token_uri": "http://x/token"})}, "credentials.service_account"},
		{"no project", map[string]string{"service_account": testAccount(t,
			map[string]any{"project_id": nil})}, "credentials.project_id"},
		{"bad project", map[string]string{"service_account": good, "project_id": "a/b"},
			"credentials.project_id"},
		{"bad priority", map[string]string{"service_account": good, "priority": "urgent"},
			"credentials.priority"},
	}
	for _, tt := range bad {
		_, err := ParseCredentials(tt.creds)
		var fe *vendors.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%s: err = %v, want a FieldError on %s", tt.name, err, tt.field)
			continue
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("%s: error shows the key: %v", tt.name, err)
		}
	}
}

func TestEndpoints(t *testing.T) {
	c := &Credentials{ProjectID: "p", TokenURI: "https://tok.example/t"}
	tests := []struct {
		auth, want string
	}{
		{"", "https://tok.example/t"},
		{"https://sim:8443/", "https://sim:8443/token"},
		{"https://sim/prefix", "https://sim/prefix/token"},
	}
	for _, tt := range tests {
		if got, err := tokenURL(tt.auth, c); err != nil || got != tt.want {
			t.Errorf("tokenURL(%q) = %q, %v; want %q", tt.auth, got, err, tt.want)
		}
	}
	if got, _ := tokenURL("", &Credentials{}); got != GoogleTokenURL {
		t.Errorf("default token URL = %q", got)
	}
	if _, err := tokenURL("ftp://x", c); err == nil {
		t.Error("ftp auth_endpoint accepted")
	}

	base, err := baseURL("endpoint", "", GoogleEndpoint)
	if err != nil || SendURL(base, "p-1") !=
		"https://fcm.googleapis.com/v1/projects/p-1/messages:send" {
		t.Errorf("default send URL = %q, %v", SendURL(base, "p-1"), err)
	}
	var fe *vendors.FieldError
	if _, err := baseURL("endpoint", "http://plain", GoogleEndpoint); !errors.As(err, &fe) ||
		fe.Field != "endpoint" {
		t.Errorf("http endpoint: %v, want a FieldError on endpoint", err)
	}
}
