package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
)

// Request reaches grains within the caller's deadline, refuses a call
// without one, and gives up at once on an activation whose member gossip
// reports dead instead of waiting out the deadline.
func TestClusterGrainRequest(t *testing.T) {
	t.Parallel()
	a := startNode(t, "a", false)
	b := startNode(t, "b", false, a.provider.GossipAddr())
	waitFor(t, 10*time.Second, "a and b seeing each other", func() bool {
		return topologyIs(a, a, b) && topologyIs(b, a, b)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Request(context.Background(), a.cluster, "x", "badge",
		&messages.GetBadge{}); !errors.Is(err, ErrNoDeadline) {
		t.Errorf("Request without deadline: err = %v, want ErrNoDeadline", err)
	}

	// Find a grain placed on b, asking through a.
	var onB string
	for i := 0; i < 50 && onB == ""; i++ {
		id := fmt.Sprintf("org#app/u%d", i)
		reply, err := Request(ctx, a.cluster, id, "badge", &messages.GetBadge{})
		if err != nil {
			t.Fatalf("Request(%s): %v", id, err)
		}
		if r, ok := reply.(*messages.BadgeReply); !ok || r.Count != 7 {
			t.Fatalf("Request(%s) = %v, want BadgeReply{7}", id, reply)
		}
		pid, err := Lookup(ctx, a.cluster, id, "badge")
		if err != nil {
			t.Fatalf("Lookup(%s): %v", id, err)
		}
		if pid.Address == b.system.Address() {
			onB = id
		}
	}
	if onB == "" {
		t.Fatalf("none of 50 grains was placed on b")
	}
	pid, _ := a.cluster.PidCache.Get(onB, "badge")

	expired, cancelExpired := context.WithDeadline(context.Background(), time.Now())
	defer cancelExpired()
	if _, err := Request(expired, a.cluster, "org#app/new", "badge",
		&messages.GetBadge{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Request past its deadline: err = %v, want DeadlineExceeded", err)
	}

	// Kill b. Once gossip reports it dead, a stale PID pointing at it is
	// refused without sending.
	b.kill()
	waitFor(t, 10*time.Second, "a seeing b dead", func() bool {
		return !a.provider.Alive(b.system.Address()) && topologyIs(a, a)
	})
	if !a.provider.Alive(a.system.Address()) || !a.provider.Alive("127.0.0.1:1") {
		t.Errorf("Alive is false for self or an unknown address, want true")
	}
	a.cluster.PidCache.Set(onB, "badge", pid)
	if _, err := Request(ctx, a.cluster, onB, "badge",
		&messages.GetBadge{}); !errors.Is(err, ErrMemberDown) {
		t.Fatalf("Request to a grain on dead b: err = %v, want ErrMemberDown", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("Request to a dead member waited out the deadline")
	}

	// The next call looks the grain up afresh and finds it on a.
	if _, err := Request(ctx, a.cluster, onB, "badge", &messages.GetBadge{}); err != nil {
		t.Fatalf("Request after b died: %v", err)
	}
}
