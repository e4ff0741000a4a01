package node

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/herald-im/herald/api"
	membership "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/replication"
)

// transient marks errors that only say the cluster cannot reach a grain or
// a quorum right now (a member down, no activation, no quorum), so the REST
// layer answers 503 and the client retries, instead of 500 (a fault).
func transient(err error) error {
	for _, t := range transientErrors {
		if errors.Is(err, t) {
			return fmt.Errorf("%w: %w", api.ErrUnavailable, err)
		}
	}
	return err
}

// transientErrors are the errors a retry may not meet: a grain that moved
// or stopped while the request travelled (dead letter, timeout of the
// future) as much as a member down or a missing quorum.
var transientErrors = []error{
	membership.ErrMemberDown, membership.ErrNoActivation,
	replication.ErrNoQuorum, replication.ErrNodeDown,
	actor.ErrTimeout, actor.ErrDeadLetter, remote.ErrTimeout, remote.ErrDeadLetter,
}
