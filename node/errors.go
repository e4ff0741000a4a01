package node

import (
	"errors"
	"fmt"

	"github.com/herald-im/herald/api"
	membership "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/replication"
)

// transient marks errors that only say the cluster cannot reach a grain or
// a quorum right now (a member down, no activation, no quorum), so the REST
// layer answers 503 and the client retries, instead of 500 (a fault).
func transient(err error) error {
	if errors.Is(err, membership.ErrMemberDown) || errors.Is(err, membership.ErrNoActivation) ||
		errors.Is(err, replication.ErrNoQuorum) || errors.Is(err, replication.ErrNodeDown) {
		return fmt.Errorf("%w: %w", api.ErrUnavailable, err)
	}
	return err
}
