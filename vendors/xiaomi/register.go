// Package xiaomi is Herald's client for Xiaomi MiPush (provider "xiaomi",
// VENDORS.md §2.5): one form-encoded POST per device with the app secret
// as a static key, and a poll of the feedback API for regIds that died,
// as MiPush accepts pushes to dead regIds without a word.
//
// Callers get a Client through vendors.Lookup("xiaomi") after importing
// vendors/all. Whoever owns the notifier must also run PollInvalid (on
// one node per notifier) and unbind every regId it reports.
package xiaomi

import (
	"context"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/internal/oem"
)

// Provider is the notifier provider this package serves.
const Provider = "xiaomi"

// InvalidTokenSource is a vendor client that learns of dead device tokens
// only by polling (MiPush). The delivery layer can type-assert a
// vendors.Client to it without importing this package.
type InvalidTokenSource interface {
	FetchInvalid(ctx context.Context) ([]string, error)
}

var _ InvalidTokenSource = (*Client)(nil)

func init() {
	vendors.Register(Provider, newClient)
	vendors.RegisterRenderer(Provider, render)
}

// newClient is the vendors.Factory of xiaomi.
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

// render is the vendors.Renderer of xiaomi: the request Push would send,
// without the Authorization header.
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
	form, err := BuildForm(note, creds, deviceToken)
	if err != nil {
		return nil, err
	}
	return &vendors.WireRequest{
		Method: "POST",
		URL:    base + sendPath,
		Headers: map[string]string{
			"content-type": "application/x-www-form-urlencoded;charset=UTF-8",
		},
		Body: []byte(form.Encode()),
	}, nil
}
