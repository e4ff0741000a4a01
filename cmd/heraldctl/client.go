package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/herald-im/herald/ring"
)

// client talks to one node's admin endpoints.
type client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// statusEnvelope is the part of the REST envelope heraldctl reads.
type statusEnvelope struct {
	Data *ring.Status `json:"data"`
}

// errorEnvelope is the REST error body.
type errorEnvelope struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func (c *client) status(ctx context.Context) (ring.Status, error) {
	var env statusEnvelope
	if err := c.do(ctx, http.MethodGet, "/admin/cluster", &env); err != nil {
		return ring.Status{}, fmt.Errorf("cluster status: %w", err)
	}
	if env.Data == nil {
		return ring.Status{}, fmt.Errorf("cluster status: answer has no data")
	}
	return *env.Data, nil
}

func (c *client) remove(ctx context.Context, name string) error {
	path := "/admin/cluster/nodes/" + url.PathEscape(name)
	if err := c.do(ctx, http.MethodDelete, path, nil); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// do sends one request and decodes a 200 answer into out (if non-nil).
// Any other status becomes an error carrying the node's description.
func (c *client) do(ctx context.Context, method, path string, out any) error {
	// JoinPath takes path as escaped, so an escaped name stays one segment.
	u := c.base.JoinPath(path)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		var e errorEnvelope
		if decodeJSON(resp.Body, &e) == nil && e.Error != "" {
			return fmt.Errorf("%d %s: %s", resp.StatusCode, e.Error, e.Description)
		}
		return fmt.Errorf("%s", resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := decodeJSON(resp.Body, out); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	return nil
}
