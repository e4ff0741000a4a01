package oauth

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		status int
		body   string
		token  string
		life   time.Duration
		err    error
	}{
		{200, `{"access_token":"A","expires_in":3600,"token_type":"Bearer"}`, "A",
			time.Hour, nil},
		{200, `{"access_token":"B","expires_in":"120"}`, "B", 2 * time.Minute, nil},
		{200, `{"access_token":"","expires_in":3600}`, "", 0, ErrUnavailable},
		{200, `{"access_token":"C","expires_in":0}`, "", 0, ErrUnavailable},
		{200, `not json`, "", 0, ErrUnavailable},
		{400, `{"error":"invalid_client","error_description":"bad"}`, "", 0, ErrRefused},
		{401, ``, "", 0, ErrRefused},
		{500, `{}`, "", 0, ErrUnavailable},
		{503, ``, "", 0, ErrUnavailable},
	}
	for _, tt := range tests {
		tok, life, err := parseAnswer(tt.status, []byte(tt.body))
		if tok != tt.token || life != tt.life || !errors.Is(err, tt.err) {
			t.Errorf("parseAnswer(%d, %s) = %q %v %v, want %q %v %v", tt.status, tt.body,
				tok, life, err, tt.token, tt.life, tt.err)
		}
	}
}

func TestNewChecksConfig(t *testing.T) {
	good := Config{TokenURL: "https://x/token", ClientID: "id", ClientSecret: "s",
		HTTPClient: http.DefaultClient}
	if _, err := New(good); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	for name, edit := range map[string]func(c *Config){
		"no url":    func(c *Config) { c.TokenURL = "" },
		"no id":     func(c *Config) { c.ClientID = "" },
		"no secret": func(c *Config) { c.ClientSecret = "" },
		"no client": func(c *Config) { c.HTTPClient = nil },
	} {
		c := good
		edit(&c)
		if _, err := New(c); err == nil {
			t.Errorf("New(%s) accepted", name)
		}
	}
}

func TestInvalidateOnlyCurrent(t *testing.T) {
	s := &Source{cfg: Config{Now: time.Now}}
	s.token, s.renewAt = "new", time.Now().Add(time.Hour)
	s.Invalidate("old")
	if s.token != "new" {
		t.Errorf("Invalidate(old) dropped the current token")
	}
	s.Invalidate("new")
	if s.token != "" {
		t.Errorf("Invalidate(new) kept it")
	}
}
