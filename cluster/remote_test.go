package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/herald-im/herald/cluster/tlstest"
	"github.com/herald-im/herald/messages"
)

// remoteNode is an actor system with only Proto.Actor remote running and
// an "echo" actor answering GetBadge.
type remoteNode struct {
	system *actor.ActorSystem
	remote *remote.Remote
}

func startRemote(t *testing.T, files RemoteTLS) *remoteNode {
	t.Helper()
	logger := testLogger(t, 100) // silent: the failures here are expected
	opts, err := RemoteOptions(files, logger)
	if err != nil {
		t.Fatalf("RemoteOptions: %v", err)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(
		func(*actor.ActorSystem) *slog.Logger { return logger }))
	r := remote.NewRemote(system, remote.Configure("127.0.0.1", 0, opts...))
	r.Start()
	t.Cleanup(func() { r.Shutdown(false); system.Shutdown() })
	_, err = system.Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*messages.GetBadge); ok {
			ctx.Respond(&messages.BadgeReply{Count: 42})
		}
	}), "echo")
	if err != nil {
		t.Fatal(err)
	}
	return &remoteNode{system: system, remote: r}
}

// ask requests the echo actor of target from n.
func (n *remoteNode) ask(target *remoteNode, timeout time.Duration) error {
	pid := actor.NewPID(target.system.Address(), "echo")
	reply, err := n.system.Root.RequestFuture(pid, &messages.GetBadge{}, timeout).Result()
	if err != nil {
		return err
	}
	if r, ok := reply.(*messages.BadgeReply); !ok || r.Count != 42 {
		return fmt.Errorf("reply %v, want BadgeReply{42}", reply)
	}
	return nil
}

// Two nodes with certificates from one CA talk over mutual TLS; a node
// whose certificate another CA signed, and a node without TLS, get no
// answer from them.
func TestRemoteMutualTLS(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "herald-test-ca")
	a := startRemote(t, RemoteTLS(ca.Issue(t, "a")))
	b := startRemote(t, RemoteTLS(ca.Issue(t, "b")))

	if err := b.ask(a, 10*time.Second); err != nil {
		t.Fatalf("b asking a over TLS: %v", err)
	}
	if err := a.ask(b, 10*time.Second); err != nil {
		t.Fatalf("a asking b over TLS: %v", err)
	}

	rogue := startRemote(t, RemoteTLS(tlstest.NewCA(t, "rogue-ca").Issue(t, "rogue")))
	if err := rogue.ask(a, 2*time.Second); err == nil {
		t.Errorf("a node with another CA's certificate got an answer from a")
	}
	plain := startRemote(t, RemoteTLS{})
	if err := plain.ask(a, 2*time.Second); err == nil {
		t.Errorf("a node without TLS got an answer from a")
	}
	// a still serves its legitimate peer after the refused handshakes.
	if err := b.ask(a, 10*time.Second); err != nil {
		t.Fatalf("b asking a after refused peers: %v", err)
	}
}

func TestRemoteTLSConfig(t *testing.T) {
	t.Parallel()
	if _, err := RemoteOptions(RemoteTLS{CAFile: "ca.pem"}, nil); err == nil {
		t.Errorf("RemoteOptions with only a CA file: no error")
	}
	missing := RemoteTLS{CAFile: "/nonexistent/ca", CertFile: "/nonexistent/c",
		KeyFile: "/nonexistent/k"}
	if _, err := RemoteOptions(missing, nil); err == nil {
		t.Errorf("RemoteOptions with missing files: no error")
	}
	if err := (RemoteTLS{}).Validate(); err != nil {
		t.Errorf("empty RemoteTLS.Validate() = %v, want nil", err)
	}
}

// Envelopes Proto.Actor's remote cannot decode (an unregistered type, a
// serializer id or type index out of range) close the sender's stream
// instead of crashing the node, which keeps answering its peers.
func TestRemoteSurvivesBogusEnvelopes(t *testing.T) {
	t.Parallel()
	a := startRemote(t, RemoteTLS{})
	b := startRemote(t, RemoteTLS{})
	if err := b.ask(a, 10*time.Second); err != nil {
		t.Fatalf("b asking a: %v", err)
	}

	target := actor.NewPID(a.system.Address(), "echo")
	bogus := map[string]*remote.MessageBatch{
		"unknown type": {
			TypeNames: []string{"herald.NoSuchMessage"},
			Targets:   []*actor.PID{target},
			Envelopes: []*remote.MessageEnvelope{{MessageData: []byte{1, 2, 3}}},
		},
		"serializer out of range": {
			TypeNames: []string{"herald.GetBadge"},
			Targets:   []*actor.PID{target},
			Envelopes: []*remote.MessageEnvelope{{SerializerId: 99}},
		},
		"type index out of range": {
			TypeNames: []string{"herald.GetBadge"},
			Targets:   []*actor.PID{target},
			Envelopes: []*remote.MessageEnvelope{{TypeId: 7}},
		},
		"target index out of range": {
			TypeNames: []string{"herald.GetBadge"},
			Targets:   []*actor.PID{target},
			Envelopes: []*remote.MessageEnvelope{{Target: 5}},
		},
		"malformed payload": {
			TypeNames: []string{"herald.GetBadge"},
			Targets:   []*actor.PID{target},
			Envelopes: []*remote.MessageEnvelope{{MessageData: []byte{0xff, 0xff, 0xff}}},
		},
	}
	for name, batch := range bogus {
		sendRawBatch(t, a.system.Address(), name, batch)
		if err := b.ask(a, 10*time.Second); err != nil {
			t.Fatalf("after %s: b asking a: %v", name, err)
		}
	}
}

// sendRawBatch dials addr's remote like a peer would, sends batch and
// waits until the node has dealt with it (closed the stream or not).
func sendRawBatch(t *testing.T, addr, name string, batch *remote.MessageBatch) {
	t.Helper()
	conn, err := grpc.Dial(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("%s: dial: %v", name, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := remote.NewRemotingClient(conn).Receive(ctx)
	if err != nil {
		t.Fatalf("%s: open stream: %v", name, err)
	}
	hello := &remote.ConnectRequest{ConnectionType: &remote.ConnectRequest_ServerConnection{
		ServerConnection: &remote.ServerConnection{SystemId: "bogus-" + name,
			Address: "127.0.0.1:1"},
	}}
	err = stream.Send(&remote.RemoteMessage{
		MessageType: &remote.RemoteMessage_ConnectRequest{ConnectRequest: hello}})
	if err != nil {
		t.Fatalf("%s: connect: %v", name, err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("%s: connect response: %v", name, err)
	}
	err = stream.Send(&remote.RemoteMessage{
		MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: batch}})
	if err != nil {
		t.Fatalf("%s: send batch: %v", name, err)
	}
	_ = stream.CloseSend()
	// The node either closes the stream with an error or reads to the
	// end; either way Recv returns once it is done with the batch.
	for {
		if _, err := stream.Recv(); err != nil {
			return
		}
	}
}
