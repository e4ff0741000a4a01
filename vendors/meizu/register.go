package meizu

import (
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// init makes Meizu known to the delivery actor and to the push preview;
// binaries get it by importing vendors/all.
func init() {
	vendors.Register(Provider, newClient)
	vendors.RegisterRenderer(Provider, render)
}

// newClient is the vendors.Factory of meizu.
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

// render is the vendors.Renderer of meizu: the signed form as Push would
// send it. The sign is a digest, not a secret.
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
	form, err := BuildForm(note, creds, deviceToken)
	if err != nil {
		return nil, err
	}
	return &vendors.WireRequest{
		Method: "POST",
		URL:    base + PushPath,
		Headers: map[string]string{
			"content-type": "application/x-www-form-urlencoded;charset=UTF-8",
		},
		Body: []byte(form.Encode()),
	}, nil
}
