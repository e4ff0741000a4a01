package node

import (
	"errors"
	"fmt"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/herald-im/herald/api"
	membership "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/replication"
)

// TestNodeTransientErrors checks which backend errors the REST layer sees
// as retryable (503) rather than as faults (500).
func TestNodeTransientErrors(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("look up: %w", membership.ErrNoActivation), true},
		{fmt.Errorf("send: %w", membership.ErrMemberDown), true},
		{fmt.Errorf("activate: %w", replication.ErrNoQuorum), true},
		{replication.ErrNodeDown, true},
		{fmt.Errorf("request user/x: %w", actor.ErrTimeout), true},
		{fmt.Errorf("request user/x: %w", actor.ErrDeadLetter), true},
		{errors.New("decode failed"), false},
	}
	for _, c := range cases {
		if got := errors.Is(transient(c.err), api.ErrUnavailable); got != c.want {
			t.Errorf("transient(%v) unavailable = %v, want %v", c.err, got, c.want)
		}
		if !errors.Is(transient(c.err), c.err) {
			t.Errorf("transient(%v) lost the original error", c.err)
		}
	}
}
