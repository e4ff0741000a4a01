package node

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	membership "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/cluster/tlstest"
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendorsim"
)

// clusterNode starts a named node with remote TLS, joined through seeds.
func clusterNode(t *testing.T, name string, tls tlstest.Files, seeds ...string) *Node {
	t.Helper()
	n, err := Start(Options{
		DataDir: filepath.Join(t.TempDir(), name), NodeName: name, HTTPAddr: "127.0.0.1:0",
		GossipAddr: "127.0.0.1:0", RemoteAddr: "127.0.0.1:0", ClusterName: "node-test",
		Seeds: seeds, RemoteTLS: membership.RemoteTLS(tls),
		BootstrapToken: "node-test-bootstrap", TokenTTL: time.Hour, MaxTokenTTL: time.Hour,
		DeliveryMaxInFlight: 16, DeliveryQueueSize: 100, GrainIdleTimeout: time.Minute,
		SoftSyncInterval: 50 * time.Millisecond, PushWait: 5 * time.Second,
		MaxPushWait: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{
			Level: slog.LevelWarn})).With("node", name),
	})
	if err != nil {
		t.Fatalf("start node %s: %v", name, err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	return n
}

// poll waits for cond, failing the test after within.
func poll(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two nodes talking over mutual TLS: a notifier created through node a
// reaches node b's app cache, which had loaded the app before the
// notifier existed, and a push accepted on b goes out through it.
func TestNodeAppChangeReachesOtherNode(t *testing.T) {
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

	ca := tlstest.NewCA(t, "node-test-ca")
	a := clusterNode(t, "a", ca.Issue(t, "a"))
	b := clusterNode(t, "b", ca.Issue(t, "b"), a.members.GossipAddr())
	for _, n := range []*Node{a, b} {
		// The ring settles at a push/pull exchange (every 15 s).
		poll(t, 60*time.Second, n.name+" seeing a stable ring of two", func() bool {
			st := n.ring.Status()
			return st.Stable && len(st.Ring) == 2 && n.cluster.MemberList.Length() == 2
		})
	}

	const appKey = "org#app"
	ba, bb := &backend{n: a}, &backend{n: b}
	if _, err := ba.CreateApp(ctx(t), "org", "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.App(ctx(t), appKey); err != nil {
		t.Fatalf("load the app on b: %v", err)
	}
	if b.apps.Peek(appKey) == nil {
		t.Fatalf("b did not cache the app it loaded")
	}

	reply, err := ba.AppRequest(ctx(t), appKey, &messages.PutNotifier{Create: true,
		Notifier: &messages.Notifier{Name: "xm", Provider: "xiaomi", Enabled: true,
			Endpoint: sim.Endpoint("xiaomi"), AuthEndpoint: sim.Endpoint("xiaomi"),
			Credentials: creds.Vendors["xiaomi"]}})
	if err != nil || reply.(*messages.NotifierReply).Error != nil {
		t.Fatalf("create notifier through a: %v %v", reply, err)
	}
	for _, n := range []*Node{a, b} {
		poll(t, 10*time.Second, n.name+"'s cache holding the notifier", func() bool {
			return n.apps.Peek(appKey).GetNotifiers()["xm"] != nil
		})
	}

	bind(t, bb, "bob", "d1", "xm", "regIdBob0001")
	res, err := b.Push(ctx(t), &messages.PushMessage{AppKey: appKey, MsgId: "m1",
		From: "alice", ChatType: "chat", To: []string{"bob"},
		Body: &messages.Body{Type: "txt", Text: "hi"}})
	if err != nil || res.Error != nil {
		t.Fatalf("push on b: %v %v", res, err)
	}
	if res.Pushed != 1 {
		t.Fatalf("push on b: %+v, want bob pushed", res)
	}
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := sim.Wait(wctx, 1, vendorsim.Filter{Vendor: "xiaomi",
		Token: "regIdBob0001"}); err != nil {
		t.Fatalf("vendorsim got no push for bob: %v", err)
	}
}
