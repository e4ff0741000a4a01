package vivo

import (
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// init makes vivo known to the delivery actor and to the push preview;
// binaries get it by importing vendors/all.
func init() {
	vendors.Register(Provider, newClient)
	vendors.RegisterRenderer(Provider, render)
}

// newClient is the vendors.Factory of vivo.
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
		Credentials:    creds,
		Endpoint:       n.Endpoint,
		AuthEndpoint:   n.AuthEndpoint,
		RootCAs:        cfg.RootCAs,
		Logger:         cfg.Logger,
		RequestTimeout: cfg.RequestTimeout,
		Now:            cfg.Now,
	})
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return c, nil
}

// render is the vendors.Renderer of vivo: the send request without the
// authToken header, with a requestId derived from the collapse key and
// the token.
func render(n *messages.Notifier, deviceToken string,
	note *messages.Notification) (*vendors.WireRequest, error) {

	if n == nil {
		return nil, &vendors.FieldError{Field: "notifier", Reason: "required"}
	}
	creds, err := ParseCredentials(n.Credentials)
	if err != nil {
		return nil, err
	}
	base, err := oem.BaseURL(n.Endpoint, DefaultBaseURL, "endpoint")
	if err != nil {
		return nil, err
	}
	body, err := BuildRequest(note, creds, deviceToken, "")
	if err != nil {
		return nil, err
	}
	return &vendors.WireRequest{
		Method:  "POST",
		URL:     base + sendPath,
		Headers: map[string]string{"content-type": "application/json;charset=UTF-8"},
		Body:    body,
	}, nil
}
