package node

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-im/herald/actors/token"
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendorsim"
)

// TestNodeFeedbackUnbindsDeadTokens runs the Xiaomi feedback poller
// against an in-process vendorsim: a dead regId is unbound from its owner
// (and the pair released), and a user still in the pair's stale list (a
// claim whose releases never ran) loses it too.
func TestNodeFeedbackUnbindsDeadTokens(t *testing.T) {
	creds, err := vendorsim.GenCreds(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sim, err := vendorsim.Start(vendorsim.Config{CredsFile: creds.ConfigFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, sim.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", caFile) // the node's vendors.TrustPool reads it

	n := feedbackNode(t)
	b := &backend{n: n}
	if _, err := b.CreateApp(ctx(t), "org", "app"); err != nil {
		t.Fatal(err)
	}
	reply, err := b.AppRequest(ctx(t), "org#app", &messages.PutNotifier{Create: true,
		Notifier: &messages.Notifier{Name: "xm", Provider: "xiaomi", Enabled: true,
			Endpoint: sim.Endpoint("xiaomi"), AuthEndpoint: sim.Endpoint("xiaomi"),
			Credentials: creds.Vendors["xiaomi"]}})
	if err != nil || reply.(*messages.NotifierReply).Error != nil {
		t.Fatalf("create notifier: %v %v", reply, err)
	}

	const owned, stale = "deadXMowned01", "deadXMstale01"
	bind(t, b, "bob", "d1", "xm", owned)
	bind(t, b, "bob", "d2", "xm", stale)
	// Carol's claim of the second pair, as her grain would send it before
	// crashing: bob stays in the stale list and keeps his binding.
	if _, err := token.NewClient(n.cluster, 5*time.Second).Claim(ctx(t), "org#app",
		&messages.TokenClaim{NotifierName: "xm", DeviceToken: stale, User: "carol",
			DeviceId: "c1"}); err != nil {
		t.Fatal(err)
	}

	// Pushes to both regIds make vendorsim list them as dead.
	res, err := n.Push(ctx(t), &messages.PushMessage{AppKey: "org#app", MsgId: "m1",
		From: "alice", ChatType: "chat", To: []string{"bob"},
		Body: &messages.Body{Type: "txt", Text: "hi"}})
	if err != nil || res.Error != nil {
		t.Fatalf("push: %v %v", res, err)
	}
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := sim.Wait(wctx, 2, vendorsim.Filter{Vendor: "xiaomi"}); err != nil {
		t.Fatalf("vendorsim got no pushes to both regIds: %v", err)
	}

	deadline := time.Now().Add(15 * time.Second)
	for len(held(t, b, "bob")) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("bob still holds %q after the feedback polls", held(t, b, "bob"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitOwner(t, n, "xm", owned, "")
	if o := owner(t, n, "xm", stale); o.GetUser() != "carol" {
		t.Fatalf("owner of the stale pair = %v, want carol untouched", o)
	}
}

// feedbackNode is testNode with a fast feedback poll.
func feedbackNode(t *testing.T) *Node {
	t.Helper()
	n, err := Start(Options{
		DataDir: filepath.Join(t.TempDir(), "data"), HTTPAddr: "127.0.0.1:0",
		GossipAddr: "127.0.0.1:0", RemoteAddr: "127.0.0.1:0", ClusterName: "node-test",
		BootstrapToken: "node-test-bootstrap", TokenTTL: time.Hour, MaxTokenTTL: time.Hour,
		DeliveryMaxInFlight: 16, DeliveryQueueSize: 100, GrainIdleTimeout: time.Minute,
		SoftSyncInterval: 50 * time.Millisecond, PushWait: 5 * time.Second,
		MaxPushWait: 10 * time.Second, FeedbackPollInterval: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{
			Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	return n
}
