package node

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-im/herald/actors/delivery"
)

// TestNodeDailyCapPausesEveryNode checks VENDORS.md §1.5: the node that
// sees a notifier reach its daily cap tells the others, and they stop
// sending through it too until the cap resets.
func TestNodeDailyCapPausesEveryNode(t *testing.T) {
	a := testNode(t, time.Minute)
	b, err := Start(Options{
		DataDir: filepath.Join(t.TempDir(), "data"), HTTPAddr: "127.0.0.1:0",
		GossipAddr: "127.0.0.1:0", RemoteAddr: "127.0.0.1:0", ClusterName: "node-test",
		Seeds:          []string{a.members.GossipAddr()},
		BootstrapToken: "node-test-bootstrap", TokenTTL: time.Hour, MaxTokenTTL: time.Hour,
		DeliveryMaxInFlight: 16, DeliveryQueueSize: 100, GrainIdleTimeout: time.Minute,
		SoftSyncInterval: 50 * time.Millisecond, PushWait: 5 * time.Second,
		MaxPushWait: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{
			Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start second node: %v", err)
	}
	t.Cleanup(func() { b.Stop(context.Background()) })

	deadline := time.Now().Add(20 * time.Second)
	for a.cluster.MemberList.Length() < 2 || b.cluster.MemberList.Length() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("nodes did not see each other: %d and %d members",
				a.cluster.MemberList.Length(), b.cluster.MemberList.Length())
		}
		time.Sleep(50 * time.Millisecond)
	}

	until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	a.broadcastDailyCap("org#app", "vivo-1", until)

	for {
		for _, h := range b.delivery.Health() {
			if h.AppKey == "org#app" && h.Notifier == "vivo-1" {
				if h.State != delivery.StatePaused || !h.Until.Equal(until) {
					t.Fatalf("second node's notifier = %+v, want paused until %v", h, until)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("second node never paused the notifier: %+v", b.delivery.Health())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
