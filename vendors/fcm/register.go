package fcm

import (
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// init makes fcm known to the delivery actor and to the push preview;
// binaries get it by importing vendors/all.
func init() {
	vendors.Register(Provider, newClient)
	vendors.RegisterRenderer(Provider, render)
}

// newClient is the vendors.Factory of fcm.
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

// render is the vendors.Renderer of fcm: the request Push would send,
// without the Authorization header (no access token is fetched).
func render(n *messages.Notifier, deviceToken string,
	note *messages.Notification) (*vendors.WireRequest, error) {

	if n == nil {
		return nil, &vendors.FieldError{Field: "notifier", Reason: "required"}
	}
	creds, err := ParseCredentials(n.Credentials)
	if err != nil {
		return nil, err
	}
	base, err := baseURL("endpoint", n.Endpoint, GoogleEndpoint)
	if err != nil {
		return nil, err
	}
	body, err := BuildRequest(note, creds, deviceToken)
	if err != nil {
		return nil, err
	}
	return &vendors.WireRequest{
		Method:  "POST",
		URL:     SendURL(base, creds.ProjectID),
		Headers: map[string]string{"content-type": "application/json; charset=UTF-8"},
		Body:    body,
	}, nil
}
