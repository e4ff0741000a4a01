package client

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	hcluster "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/messages"
)

// testLogger routes logs to t.Log until the test ends; later lines from
// Proto.Actor goroutines are dropped instead of panicking.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// attempt is one PushMessage an ingest actor received.
type attempt struct {
	node  string
	msgID string
}

// ingestScript decides how the test ingest actors answer and records
// what they received. It is shared by all members of a test cluster.
type ingestScript struct {
	mu       sync.Mutex
	attempts []attempt
	// answer returns the reply for the n-th attempt (from 0) of a msg_id,
	// or nil to leave that attempt unanswered.
	answer func(m *messages.PushMessage, n int) *messages.PushResult
	// presence records the presence events the user grains received.
	presence []*messages.PresenceEvent
}

func (s *ingestScript) setAnswer(f func(*messages.PushMessage, int) *messages.PushResult) {
	s.mu.Lock()
	s.answer = f
	s.mu.Unlock()
}

func (s *ingestScript) record(node string, m *messages.PushMessage) *messages.PushResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.attempts {
		if a.msgID == m.GetMsgId() {
			n++
		}
	}
	s.attempts = append(s.attempts, attempt{node: node, msgID: m.GetMsgId()})
	return s.answer(m, n)
}

// attemptsFor lists the attempts that carried msgID.
func (s *ingestScript) attemptsFor(msgID string) []attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []attempt
	for _, a := range s.attempts {
		if a.msgID == msgID {
			out = append(out, a)
		}
	}
	return out
}

func (s *ingestScript) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.attempts)
}

// answered is the reply of a node that processed every recipient.
func answered(m *messages.PushMessage, _ int) *messages.PushResult {
	return &messages.PushResult{MsgId: m.GetMsgId(), Recipients: 1, Pushed: 1}
}

// member is one in-process Herald stand-in: a cluster member with a test
// ingest actor and a "user" kind whose grains answer presence events.
type member struct {
	name     string
	system   *actor.ActorSystem
	cluster  *protocluster.Cluster
	provider *hcluster.Provider
}

func startMember(t *testing.T, name string, script *ingestScript, seeds ...string) *member {
	t.Helper()
	return startMemberTLS(t, name, script, hcluster.RemoteTLS{}, seeds...)
}

// startMemberTLS is startMember with remote TLS.
func startMemberTLS(t *testing.T, name string, script *ingestScript, tls hcluster.RemoteTLS,
	seeds ...string) *member {
	t.Helper()
	logger := testLogger(t).With(slog.String("test_node", name))
	p, err := hcluster.NewProvider(hcluster.Config{
		NodeName: name, GossipAddr: "127.0.0.1:0", Seeds: seeds, Logger: logger,
	})
	if err != nil {
		t.Fatalf("NewProvider(%s): %v", name, err)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(
		func(*actor.ActorSystem) *slog.Logger { return logger }))

	userGrain := actor.PropsFromFunc(func(ctx actor.Context) {
		if ev, ok := ctx.Message().(*messages.PresenceEvent); ok {
			script.mu.Lock()
			script.presence = append(script.presence, ev)
			script.mu.Unlock()
			ctx.Respond(&messages.PresenceReply{
				DeviceId: ev.GetDeviceId(), State: ev.GetState(), OfflineMsgCount: 3,
			})
		}
	})
	remoteOpts, err := hcluster.RemoteOptions(tls, logger)
	if err != nil {
		t.Fatalf("RemoteOptions(%s): %v", name, err)
	}
	cfg := protocluster.Configure(DefaultClusterName, p, disthash.New(),
		remote.Configure("127.0.0.1", 0, remoteOpts...),
		protocluster.WithKinds(protocluster.NewKind(userKind, userGrain)))
	c := protocluster.New(system, cfg)
	c.StartMember()

	ingest := actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*messages.PushMessage); ok {
			if r := script.record(name, m); r != nil {
				ctx.Respond(r)
			}
		}
	})
	if _, err := system.Root.SpawnNamed(ingest, IngestActor); err != nil {
		t.Fatalf("spawn ingest on %s: %v", name, err)
	}

	m := &member{name: name, system: system, cluster: c, provider: p}
	t.Cleanup(func() {
		c.Shutdown(false)
		_ = p.Shutdown(false)
	})
	return m
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
