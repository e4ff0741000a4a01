package replication

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/persistence"
)

// ActorName is the id of every node's register acceptor actor.
const ActorName = "herald-register"

// The acceptor's pool. Every request that reaches the store may wait for
// an fsync, so the actor hands requests to this many goroutines, which
// meet in Pebble's commit pipeline and share fsyncs. The queue bounds the
// work waiting for a goroutine; beyond it requests are refused at once.
const (
	acceptorWorkers = 128
	acceptorQueue   = 4096
)

// acceptorJob is one request waiting for a pool goroutine.
type acceptorJob struct {
	sender *actor.PID // nil for fire-and-forget messages
	msg    proto.Message
}

// acceptor is the actor that answers other nodes' register requests from
// the local store.
type acceptor struct {
	system *actor.ActorSystem
	store  *persistence.Store
	log    *slog.Logger

	jobs    chan acceptorJob
	stopped bool // jobs closed; touched only by the actor's goroutine
	workers sync.WaitGroup

	dropped atomic.Int64 // requests refused because the queue was full
}

// SpawnAcceptor starts the node's register acceptor under ActorName. It
// answers until the actor system shuts down or the actor is stopped.
func SpawnAcceptor(system *actor.ActorSystem, store *persistence.Store,
	logger *slog.Logger) (*actor.PID, error) {
	if system == nil {
		return nil, errors.New("spawn acceptor: actor system is nil")
	}
	if store == nil {
		return nil, errors.New("spawn acceptor: store is nil")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// A restarted actor gets a fresh instance, and with it a fresh pool;
	// the old pool drains on Restarting.
	props := actor.PropsFromProducer(func() actor.Actor {
		return &acceptor{system: system, store: store, log: logger}
	})
	pid, err := system.Root.SpawnNamed(props, ActorName)
	if err != nil {
		return nil, fmt.Errorf("spawn acceptor: %w", err)
	}
	return pid, nil
}

func (a *acceptor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.start()
	case *actor.Stopping, *actor.Restarting:
		a.stop()
	case *messages.RegPrepare, *messages.RegAccept, *messages.RegLearn,
		*messages.RegVersions, *messages.RegPutSoft:
		a.submit(ctx.Sender(), msg.(proto.Message))
	case actor.SystemMessage, actor.AutoReceiveMessage:
	default:
		a.log.Warn("acceptor ignores unknown message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *acceptor) start() {
	a.jobs = make(chan acceptorJob, acceptorQueue)
	for range acceptorWorkers {
		a.workers.Go(func() {
			for job := range a.jobs {
				a.serve(job)
			}
		})
	}
}

// stop lets the pool finish what is queued; the store stays open, it is
// the node's to close.
func (a *acceptor) stop() {
	if a.stopped || a.jobs == nil {
		return
	}
	a.stopped = true
	close(a.jobs)
}

// submit queues a request without blocking the actor. A full queue means
// the store is behind: refusing at once lets the caller count a missing
// answer instead of waiting for its deadline.
func (a *acceptor) submit(sender *actor.PID, msg proto.Message) {
	if a.stopped {
		return
	}
	select {
	case a.jobs <- acceptorJob{sender: sender, msg: msg}:
	default:
		if a.dropped.Add(1)%1000 == 1 {
			a.log.Warn("acceptor queue full, refusing requests",
				"queue", acceptorQueue, "refused", a.dropped.Load())
		}
		if sender != nil {
			a.system.Root.Send(sender, overloadedReply(msg))
		}
	}
}

// serve runs one request on a pool goroutine and answers the sender.
func (a *acceptor) serve(job acceptorJob) {
	reply := answer(a.store, job.msg, time.Now())
	if reply != nil && job.sender != nil {
		a.system.Root.Send(job.sender, reply)
	}
}

// answer applies one request to the store and returns the reply; nil for
// a fire-and-forget message or a request whose caller already gave up.
func answer(store *persistence.Store, msg proto.Message, now time.Time) proto.Message {
	switch m := msg.(type) {
	case *messages.RegPrepare:
		if expired(m.DeadlineUnixMs, now) {
			return nil
		}
		return servePrepare(store, m)
	case *messages.RegAccept:
		if expired(m.DeadlineUnixMs, now) {
			return nil
		}
		return serveAccept(store, m)
	case *messages.RegLearn:
		if expired(m.DeadlineUnixMs, now) {
			return nil
		}
		return serveLearn(store, m)
	case *messages.RegVersions:
		if expired(m.DeadlineUnixMs, now) {
			return nil
		}
		return serveVersions(store, m)
	case *messages.RegPutSoft:
		for _, e := range m.Entries {
			// Soft state is best effort; a bad entry skips only itself.
			_ = store.PutSoft(e.Key, e.Value)
		}
	}
	return nil
}

func servePrepare(store *persistence.Store, m *messages.RegPrepare) *messages.RegPromise {
	if m.Ballot == nil {
		return &messages.RegPromise{Error: illegal("ballot", "ballot is missing")}
	}
	p, err := store.Prepare(m.Key, fromWireBallot(m.Ballot))
	if err != nil {
		return &messages.RegPromise{Error: storeError(err)}
	}
	return &messages.RegPromise{
		Ok:       p.OK,
		Promised: toWireBallot(p.Promised),
		Accepted: toWireBallot(p.Accepted),
		Seq:      p.Seq,
		Value:    p.Value,
	}
}

func serveAccept(store *persistence.Store, m *messages.RegAccept) *messages.RegAccepted {
	if m.Ballot == nil {
		return &messages.RegAccepted{Error: illegal("ballot", "ballot is missing")}
	}
	ok, promised, err := store.Accept(m.Key, fromWireBallot(m.Ballot), m.Seq, m.Value)
	if err != nil {
		return &messages.RegAccepted{Error: storeError(err)}
	}
	return &messages.RegAccepted{Ok: ok, Promised: toWireBallot(promised)}
}

func serveLearn(store *persistence.Store, m *messages.RegLearn) *messages.RegLearned {
	if m.Ballot == nil {
		return &messages.RegLearned{Error: illegal("ballot", "ballot is missing")}
	}
	taken, err := store.Learn(m.Key, fromWireBallot(m.Ballot), m.Seq, m.Value)
	if err != nil {
		return &messages.RegLearned{Error: storeError(err)}
	}
	return &messages.RegLearned{Taken: taken}
}

// maxVersionKeys bounds one RegVersions request.
const maxVersionKeys = 4096

func serveVersions(store *persistence.Store, m *messages.RegVersions) *messages.RegVersionList {
	if len(m.Keys) > maxVersionKeys {
		return &messages.RegVersionList{Error: illegal("keys",
			fmt.Sprintf("%d keys, max %d", len(m.Keys), maxVersionKeys))}
	}
	versions, err := store.Versions(m.Keys)
	if err != nil {
		return &messages.RegVersionList{Error: storeError(err)}
	}
	out := &messages.RegVersionList{Versions: make([]*messages.RegVersion, len(versions))}
	for i, v := range versions {
		out.Versions[i] = &messages.RegVersion{
			Key: m.Keys[i], Ballot: toWireBallot(v.Ballot), Seq: v.Seq,
		}
	}
	return out
}

func illegal(field, description string) *messages.Error {
	return &messages.Error{Code: "illegal_argument", Field: field, Description: description}
}

// storeError turns a store failure into a reply error. A closing store is
// a node going away ("unavailable"); anything else is reported as is.
func storeError(err error) *messages.Error {
	if errors.Is(err, persistence.ErrClosed) {
		return &messages.Error{Code: "unavailable", Description: err.Error()}
	}
	return &messages.Error{Code: "internal", Description: err.Error()}
}

// overloadedReply is the answer to a request refused for a full queue.
func overloadedReply(msg proto.Message) proto.Message {
	e := &messages.Error{Code: "overloaded", Description: "register acceptor queue is full"}
	switch msg.(type) {
	case *messages.RegPrepare:
		return &messages.RegPromise{Error: e}
	case *messages.RegAccept:
		return &messages.RegAccepted{Error: e}
	case *messages.RegLearn:
		return &messages.RegLearned{Error: e}
	case *messages.RegVersions:
		return &messages.RegVersionList{Error: e}
	}
	return e
}
