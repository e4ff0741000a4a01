package apns

import (
	"net/url"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// init makes both APNs providers known to the delivery actor and to the
// push preview; binaries get them by importing vendors/all.
func init() {
	for _, p := range []string{ProviderAPNs, ProviderVoIP} {
		vendors.Register(p, newClient)
		vendors.RegisterRenderer(p, render)
	}
}

// newClient is the vendors.Factory of apns and apns-voip.
func newClient(cfg vendors.Config) (vendors.Client, error) {
	n := cfg.Notifier
	if n == nil {
		return nil, &vendors.FieldError{Field: "notifier", Reason: "required"}
	}
	creds, err := ParseCredentials(n.Provider, n.Credentials)
	if err != nil {
		return nil, err
	}
	c, err := New(Config{
		Credentials:    creds,
		Environment:    n.Environment,
		Endpoint:       n.Endpoint,
		VoIP:           n.Provider == ProviderVoIP,
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

// render is the vendors.Renderer of apns and apns-voip: the request Push
// would send, without the JWT and without apns-id (Push sets it per
// attempt from the message and token).
func render(n *messages.Notifier, deviceToken string,
	note *messages.Notification) (*vendors.WireRequest, error) {

	if n == nil {
		return nil, &vendors.FieldError{Field: "notifier", Reason: "required"}
	}
	creds, err := ParseCredentials(n.Provider, n.Credentials)
	if err != nil {
		return nil, err
	}
	base, err := baseURL(n.Environment, n.Endpoint)
	if err != nil {
		return nil, err
	}
	if !validDeviceToken(deviceToken) {
		return nil, ErrBadDeviceToken
	}

	headers, body, err := BuildRequest(note, creds, n.Provider == ProviderVoIP)
	if err != nil {
		return nil, err
	}
	headers["content-type"] = "application/json"
	return &vendors.WireRequest{
		Method:  "POST",
		URL:     base + "/3/device/" + url.PathEscape(deviceToken),
		Headers: headers,
		Body:    body,
	}, nil
}
