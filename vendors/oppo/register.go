// Package oppo is Herald's client for OPPO Push (provider "oppo",
// VENDORS.md §2.6): an auth_token fetched with a SHA-256 signature and
// cached for 20 hours, then one form-encoded unicast per device whose
// `message` field is the JSON message.
//
// Callers get a Client through vendors.Lookup("oppo") after importing
// vendors/all. A throttled Result with Reason "33" is OPPO's daily cap:
// the caller pauses the notifier until 00:00 Asia/Shanghai.
package oppo

import (
	"net/url"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// Provider is the notifier provider this package serves.
const Provider = "oppo"

func init() {
	vendors.Register(Provider, newClient)
	vendors.RegisterRenderer(Provider, render)
}

// newClient is the vendors.Factory of oppo.
func newClient(cfg vendors.Config) (vendors.Client, error) {
	n := cfg.Notifier
	if n == nil {
		return nil, &vendors.FieldError{Field: "notifier", Reason: "required"}
	}
	creds, err := ParseCredentials(n.Credentials)
	if err != nil {
		return nil, err
	}
	c, err := New(Config{
		Credentials: creds, Endpoint: n.Endpoint, AuthEndpoint: n.AuthEndpoint,
		RootCAs: cfg.RootCAs, Logger: cfg.Logger, RequestTimeout: cfg.RequestTimeout,
		Now: cfg.Now,
	})
	if err != nil {
		return nil, err // never a typed nil inside the interface
	}
	return c, nil
}

// render is the vendors.Renderer of oppo: the unicast Push would send,
// with no auth_token (none is fetched for a preview).
func render(n *messages.Notifier, deviceToken string,
	note *messages.Notification) (*vendors.WireRequest, error) {

	if n == nil {
		return nil, &vendors.FieldError{Field: "notifier", Reason: "required"}
	}
	creds, err := ParseCredentials(n.Credentials)
	if err != nil {
		return nil, err
	}
	base, err := oem.BaseURL(n.Endpoint, DefaultEndpoint, "endpoint")
	if err != nil {
		return nil, err
	}
	if !validToken(deviceToken) {
		return nil, ErrBadDeviceToken
	}
	msg, err := BuildMessage(note, creds, deviceToken)
	if err != nil {
		return nil, err
	}
	form := url.Values{"message": {string(msg)}}
	return &vendors.WireRequest{
		Method: "POST",
		URL:    base + unicastPath,
		Headers: map[string]string{
			"content-type": "application/x-www-form-urlencoded;charset=UTF-8",
		},
		Body: []byte(form.Encode()),
	}, nil
}
