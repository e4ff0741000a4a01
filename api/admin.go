package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/herald-im/herald/ring"
)

// ClusterAdmin is the operator surface of a clustered node. A Backend
// that implements it serves the /admin/cluster endpoints; for any other
// Backend they answer 404.
type ClusterAdmin interface {
	// ClusterStatus describes the members (with their state and what
	// each node's /readyz says), the ring with its epoch and previous
	// node set, and the removed names. The value is encoded as JSON in
	// the envelope's data (the node returns a ring.Status).
	ClusterStatus(ctx context.Context) (any, error)
	// RemoveNode takes a node out of the ring for good. It returns
	// ring.ErrUnknownNode for a name that is not in the ring and
	// ring.ErrLastNode for the ring's only node.
	RemoveNode(ctx context.Context, name string) error
}

// adminRoutes are the operator endpoints; only the bootstrap token opens
// them.
func adminRoutes(r routeFunc) []route {
	return []route{
		r("GET", "/admin/cluster", accessBootstrap, "", handleClusterStatus),
		r("DELETE", "/admin/cluster/nodes/{name}", accessBootstrap, "", handleRemoveNode),
	}
}

// maxNodeNameLen bounds a node name in a path; node names are derived
// from data directories and are far shorter.
const maxNodeNameLen = 256

func handleClusterStatus(c *call) error {
	admin, ok := c.s.opts.Backend.(ClusterAdmin)
	if !ok {
		return errNotFound()
	}
	status, err := admin.ClusterStatus(c.ctx)
	if err != nil {
		return c.adminError(err)
	}
	c.data(status)
	return nil
}

type removeNodeReply struct {
	Name    string `json:"name"`
	Removed bool   `json:"removed"`
}

func handleRemoveNode(c *call) error {
	admin, ok := c.s.opts.Backend.(ClusterAdmin)
	if !ok {
		return errNotFound()
	}
	name := c.params["name"]
	if len(name) > maxNodeNameLen {
		return errInvalid("name")
	}
	if err := admin.RemoveNode(c.ctx, name); err != nil {
		return c.adminError(err)
	}
	c.s.log.Warn("node removed from the ring by an operator", "peer", name)
	c.data(removeNodeReply{Name: name, Removed: true})
	return nil
}

// adminError maps the ring's errors onto the catalogue.
func (c *call) adminError(err error) error {
	switch {
	case errors.Is(err, ring.ErrInvalidName):
		return errInvalid("name")
	case errors.Is(err, ring.ErrUnknownNode):
		return &apiError{http.StatusNotFound, "service_resource_not_found",
			"ResourceNotFoundException",
			fmt.Sprintf("node %q is not in the ring", c.params["name"])}
	case errors.Is(err, ring.ErrLastNode):
		return &apiError{http.StatusForbidden, "forbidden_op", "ForbiddenOperationException",
			"cannot remove the last node of the ring"}
	case errors.Is(err, ring.ErrNotStarted), errors.Is(err, ring.ErrStopped):
		return errUnavailable("cluster is not running")
	}
	return c.backendError(err)
}
