package node

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/cluster"

	"github.com/herald-im/herald/actors/fanout"
	"github.com/herald-im/herald/actors/user"
	"github.com/herald-im/herald/messages"
)

// testNode starts a node on free loopback ports with data in a temp dir.
func testNode(t *testing.T, idle time.Duration) *Node {
	t.Helper()
	n, err := Start(Options{
		DataDir: filepath.Join(t.TempDir(), "data"), HTTPAddr: "127.0.0.1:0",
		GossipAddr: "127.0.0.1:0", RemoteAddr: "127.0.0.1:0", ClusterName: "node-test",
		BootstrapToken: "node-test-bootstrap", TokenTTL: time.Hour, MaxTokenTTL: time.Hour,
		DeliveryMaxInFlight: 16, DeliveryQueueSize: 100, GrainIdleTimeout: idle,
		SoftSyncInterval: 50 * time.Millisecond, PushWait: 5 * time.Second,
		MaxPushWait: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{
			Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	return n
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestNodeGrainPassivation checks that an idle user grain stops and that
// its next activation reads back everything it had acknowledged.
func TestNodeGrainPassivation(t *testing.T) {
	n := testNode(t, 200*time.Millisecond)
	b := &backend{n: n}
	if _, err := b.CreateApp(ctx(t), "org", "app"); err != nil {
		t.Fatal(err)
	}

	reply, err := b.UserRequest(ctx(t), "org#app", "bob", &messages.PutBinding{
		DeviceId: "d1", DeviceToken: "tok", NotifierName: "apns"})
	if err != nil || reply.(*messages.BindingsReply).Error != nil {
		t.Fatalf("bind: %v %v", reply, err)
	}
	users := n.cluster.GetClusterKind(user.Kind)
	if users.Count() == 0 {
		t.Fatal("no user grain active after a request")
	}

	deadline := time.Now().Add(10 * time.Second)
	for users.Count() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("user grains still active after idling: %d", users.Count())
		}
		time.Sleep(20 * time.Millisecond)
	}

	reply, err = b.UserRequest(ctx(t), "org#app", "bob", &messages.GetBindings{})
	got := reply.(*messages.BindingsReply)
	if err != nil || got.Error != nil || len(got.Bindings) != 1 || got.Bindings[0].DeviceToken != "tok" {
		t.Fatalf("bindings after reactivation = %v, %v; want the acknowledged one", got, err)
	}
}

// TestNodeUnknownMessages checks that a message an actor does not handle
// gets an error reply naming the problem, and the node keeps serving.
func TestNodeUnknownMessages(t *testing.T) {
	n := testNode(t, time.Minute)
	b := &backend{n: n}
	if _, err := b.CreateApp(ctx(t), "org", "app"); err != nil {
		t.Fatal(err)
	}

	// An app message sent to a user grain.
	reply, err := n.cluster.Request(user.Identity("org#app", "bob"), user.Kind,
		&messages.CreateApp{Org: "x", Name: "y"}, cluster.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatalf("user grain did not answer an unknown message: %v", err)
	}
	if ur, ok := reply.(*messages.UserReply); !ok || ur.Error == nil || ur.Error.Field != "message" {
		t.Fatalf("user grain answered %v, want an illegal_argument error on message", reply)
	}

	// A user message sent to the ingest actor.
	f := n.system.Root.RequestFuture(n.ingest, &messages.GetBindings{}, 5*time.Second)
	res, err := f.Result()
	if err != nil {
		t.Fatalf("ingest did not answer an unknown message: %v", err)
	}
	if pr, ok := res.(*messages.PushResult); !ok || pr.Error == nil {
		t.Fatalf("ingest answered %v, want an error", res)
	}

	// A malformed push (no msg_id) is refused with the field.
	f = n.system.Root.RequestFuture(n.ingest, &fanout.Submit{Message: &messages.PushMessage{
		AppKey: "org#app", From: "a", ChatType: "chat", To: []string{"b"},
		Body: &messages.Body{Type: "txt", Text: "x"}}, Wait: time.Second}, 5*time.Second)
	res, err = f.Result()
	if pr, ok := res.(*messages.PushResult); err != nil || !ok || pr.Error == nil ||
		pr.Error.Field != "msg_id" {
		t.Fatalf("ingest answered %v, %v; want an error on msg_id", res, err)
	}

	// The node still works.
	reply, err = b.UserRequest(ctx(t), "org#app", "bob", &messages.GetBadge{})
	if err != nil || reply.(*messages.BadgeReply).Error != nil {
		t.Fatalf("node unusable after unknown messages: %v %v", reply, err)
	}
}

// TestNodeUnknownApp checks that a push for an app that does not exist is
// refused without activating anything for its users.
func TestNodeUnknownApp(t *testing.T) {
	n := testNode(t, time.Minute)
	res, err := n.Push(ctx(t), &messages.PushMessage{AppKey: "no#app", MsgId: "m",
		From: "a", ChatType: "chat", To: []string{"b"}, Body: &messages.Body{Type: "txt", Text: "x"}})
	if err != nil || res.Error == nil || res.Error.Code != "not_found" {
		t.Fatalf("push to an unknown app = %v, %v; want not_found", res, err)
	}
	if c := n.cluster.GetClusterKind(user.Kind).Count(); c != 0 {
		t.Fatalf("%d user grains activated for an unknown app", c)
	}
}
