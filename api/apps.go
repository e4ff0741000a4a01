package api

import (
	"regexp"
)

// appName is the rule for org and app names (§11.10).
var appName = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

type createAppRequest struct {
	Name *string `json:"name"`
}

type createAppReply struct {
	Organization    string `json:"organization"`
	ApplicationName string `json:"applicationName"`
	Application     string `json:"application"`
	ClientID        string `json:"client_id"`
	ClientSecret    string `json:"client_secret"`
}

// handleCreateApp creates an app; the client secret is shown only here.
func handleCreateApp(c *call) error {
	org := c.params["org"]
	if !appName.MatchString(org) {
		return errInvalid("org")
	}
	var req createAppRequest
	if _, err := c.decode(&req); err != nil {
		return err
	}
	name := deref(req.Name)
	if !appName.MatchString(name) {
		return errInvalid("name")
	}

	reply, err := c.s.opts.Backend.CreateApp(c.ctx, org, name)
	if err != nil {
		return c.backendError(err)
	}
	if e := reply.GetError(); e != nil {
		return fromReply(e)
	}
	app := reply.GetApp()
	if app == nil {
		return errInternal("create app: empty reply")
	}

	c.app = app
	c.s.log.Info("app created", "app", app.GetOrg()+"#"+app.GetName())
	c.data(createAppReply{
		Organization:    app.GetOrg(),
		ApplicationName: app.GetName(),
		Application:     app.GetUuid(),
		ClientID:        app.GetClientId(),
		ClientSecret:    reply.GetClientSecret(),
	})
	return nil
}
