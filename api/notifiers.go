package api

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/herald-im/herald/messages"
)

// notifierRequest is the body of POST and PUT /push/notifiers (§11.7).
// Pointers tell absent fields from empty ones for partial updates.
type notifierRequest struct {
	Name         *string                    `json:"name"`
	Provider     *string                    `json:"provider"`
	Environment  *string                    `json:"environment"`
	Enabled      *bool                      `json:"enabled"`
	Endpoint     *string                    `json:"endpoint"`
	AuthEndpoint *string                    `json:"auth_endpoint"`
	Credentials  map[string]json.RawMessage `json:"credentials"`
}

// notifierJSON is a notifier as answered, its secrets already redacted.
type notifierJSON struct {
	Name         string            `json:"name"`
	Provider     string            `json:"provider"`
	Environment  string            `json:"environment"`
	Enabled      bool              `json:"enabled"`
	Created      int64             `json:"created"`
	Modified     int64             `json:"modified"`
	Endpoint     string            `json:"endpoint,omitempty"`
	AuthEndpoint string            `json:"auth_endpoint,omitempty"`
	Credentials  map[string]string `json:"credentials"`
}

// redacted is the only way a notifier leaves the API: secret credential
// values read "******".
func redacted(n *messages.Notifier) notifierJSON {
	r := messages.RedactNotifier(n)
	return notifierJSON{
		Name:         r.GetName(),
		Provider:     r.GetProvider(),
		Environment:  r.GetEnvironment(),
		Enabled:      r.GetEnabled(),
		Created:      r.GetCreated(),
		Modified:     r.GetModified(),
		Endpoint:     r.GetEndpoint(),
		AuthEndpoint: r.GetAuthEndpoint(),
		Credentials:  r.GetCredentials(),
	}
}

// toNotifier converts the request. Credential values are strings; numbers
// and booleans are taken as their JSON text, and service_account may also
// be the service-account JSON object itself.
func (req *notifierRequest) toNotifier() (*messages.Notifier, error) {
	n := &messages.Notifier{
		Name:         deref(req.Name),
		Provider:     deref(req.Provider),
		Environment:  deref(req.Environment),
		Enabled:      req.Enabled == nil || *req.Enabled,
		Endpoint:     deref(req.Endpoint),
		AuthEndpoint: deref(req.AuthEndpoint),
		Credentials:  make(map[string]string, len(req.Credentials)),
	}
	keys := make([]string, 0, len(req.Credentials))
	for k := range req.Credentials {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, ok := credentialValue(k, req.Credentials[k])
		if !ok {
			return nil, errInvalid("credentials." + k)
		}
		n.Credentials[k] = v
	}
	return n, nil
}

func credentialValue(key string, raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err == nil
	case '{':
		if key != "service_account" {
			return "", false
		}
		var buf bytes.Buffer
		err := json.Compact(&buf, raw)
		return buf.String(), err == nil
	case '[', 'n':
		return "", false
	}
	// A number or a boolean.
	return string(raw), true
}

// handleCreateNotifier adds a notifier; its name must be new.
func handleCreateNotifier(c *call) error {
	var req notifierRequest
	if _, err := c.decode(&req); err != nil {
		return err
	}
	n, err := req.toNotifier()
	if err != nil {
		return err
	}
	if e := messages.ValidateNotifier(n, true); e != nil {
		return fromReply(e)
	}

	m, err := c.s.opts.Backend.AppRequest(c.ctx, c.appKey,
		&messages.PutNotifier{Notifier: n, Create: true, HasEnabled: true})
	r, err := expect[*messages.NotifierReply](c, m, err)
	if err != nil {
		return err
	}
	c.s.log.Info("notifier created", "app", c.appKey, "notifier", n.Name,
		"provider", n.Provider)
	c.data(redacted(r.GetNotifier()))
	return nil
}

// handleUpdateNotifier applies a partial update; the app grain merges it
// and validates the result as a whole.
func handleUpdateNotifier(c *call) error {
	name := c.params["name"]
	if !messages.ValidNotifierName(name) {
		return errNotFound()
	}
	var req notifierRequest
	if _, err := c.decode(&req); err != nil {
		return err
	}
	if req.Name != nil && *req.Name != name {
		return errInvalid("name")
	}
	n, err := req.toNotifier()
	if err != nil {
		return err
	}
	n.Name = name
	if e := messages.ValidateNotifier(n, false); e != nil {
		return fromReply(e)
	}

	m, err := c.s.opts.Backend.AppRequest(c.ctx, c.appKey,
		&messages.PutNotifier{Notifier: n, HasEnabled: req.Enabled != nil})
	r, err := expect[*messages.NotifierReply](c, m, err)
	if err != nil {
		return err
	}
	c.s.log.Info("notifier updated", "app", c.appKey, "notifier", name)
	c.data(redacted(r.GetNotifier()))
	return nil
}

func handleDeleteNotifier(c *call) error {
	name := c.params["name"]
	if !messages.ValidNotifierName(name) {
		return errNotFound()
	}
	m, err := c.s.opts.Backend.AppRequest(c.ctx, c.appKey,
		&messages.DeleteNotifier{Name: name})
	r, err := expect[*messages.NotifierReply](c, m, err)
	if err != nil {
		return err
	}
	c.s.log.Info("notifier deleted", "app", c.appKey, "notifier", name)
	c.data(redacted(r.GetNotifier()))
	return nil
}

// currentApp reads the app record from its grain, not the node's cache, so
// a read follows the caller's own preceding change.
func (c *call) currentApp() (*messages.AppRecord, error) {
	m, err := c.s.opts.Backend.AppRequest(c.ctx, c.appKey, &messages.GetApp{})
	r, err := expect[*messages.AppReply](c, m, err)
	if err != nil {
		return nil, err
	}
	return r.GetApp(), nil
}

func handleListNotifiers(c *call) error {
	app, err := c.currentApp()
	if err != nil {
		return err
	}
	list := make([]notifierJSON, 0, len(app.GetNotifiers()))
	for _, n := range app.GetNotifiers() {
		list = append(list, redacted(n))
	}
	slices.SortFunc(list, func(a, b notifierJSON) int { return strings.Compare(a.Name, b.Name) })
	c.data(list)
	return nil
}

func handleGetNotifier(c *call) error {
	app, err := c.currentApp()
	if err != nil {
		return err
	}
	n, ok := app.GetNotifiers()[c.params["name"]]
	if !ok {
		return errNotFound()
	}
	c.data(redacted(n))
	return nil
}
