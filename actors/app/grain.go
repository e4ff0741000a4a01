package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/persistence"
	"github.com/herald-im/herald/push"
)

// Deps are what every app grain of a node shares.
type Deps struct {
	Registers persistence.Registers
	Cache     *Cache
	Logger    *slog.Logger
	// Now is the clock; records carry its ms timestamps.
	Now func() time.Time
	// IdleTimeout passivates a grain that received nothing for this long.
	IdleTimeout time.Duration
}

// NewKind returns the cluster kind that activates app grains.
func NewKind(d Deps) *cluster.Kind {
	props := actor.PropsFromProducer(func() actor.Actor { return &grain{deps: d} })
	return cluster.NewKind(Kind, props)
}

// grain owns one app's register. Its mailbox serializes every change, so
// the record needs no lock; each acknowledged change is also published to
// the node's Cache as a fresh immutable snapshot.
type grain struct {
	deps   Deps
	appKey string
	lease  persistence.Lease
	// rec is nil until the app is created.
	rec *messages.AppRecord
	// failed is set when activation could not read the register; every
	// request then gets an "unavailable" error until the grain restarts.
	failed bool
}

func (g *grain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		g.activate(ctx, m.Identity.Identity)
		if g.failed {
			// Answer what is queued as unavailable, then stop: the next
			// request activates afresh instead of finding this failed
			// activation until it idles out.
			ctx.Poison(ctx.Self())
		}
	case *actor.ReceiveTimeout:
		ctx.Stop(ctx.Self())
	case *messages.CreateApp:
		ctx.Respond(g.create(m))
	case *messages.GetApp:
		ctx.Respond(g.get())
	case *messages.PutNotifier:
		ctx.Respond(g.putNotifier(m))
	case *messages.DeleteNotifier:
		ctx.Respond(g.deleteNotifier(m))
	case *messages.PutTemplate:
		ctx.Respond(g.putTemplate(m))
	case *messages.DeleteTemplate:
		ctx.Respond(g.deleteTemplate(m))
	case *messages.PutPushConfig:
		ctx.Respond(g.putConfig(m))
	default:
		if ctx.Sender() != nil && isRequest(m) {
			ctx.Respond(&messages.AppReply{Error: &messages.Error{
				Code: "illegal_argument", Field: "message",
				Description: fmt.Sprintf("unknown app message %T", m)}})
		}
	}
}

// isRequest reports whether m is something a caller sent, not one of the
// actor system's own lifecycle messages.
func isRequest(m any) bool {
	switch m.(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
		return false
	}
	_, ok := m.(proto.Message)
	return ok
}

func (g *grain) activate(ctx actor.Context, appKey string) {
	g.appKey = appKey
	if g.deps.IdleTimeout > 0 {
		ctx.SetReceiveTimeout(g.deps.IdleTimeout)
	}

	// Activation fences any older activation of this app and reads the
	// newest acknowledged record.
	lease, value, err := g.deps.Registers.Activate(context.Background(), persistence.AppKey(appKey))
	if err != nil {
		g.failed = true
		g.deps.Logger.Error("activate app", "app", appKey, "err", err)
		return
	}
	g.lease = lease
	if value == nil {
		return
	}

	rec := &messages.AppRecord{}
	if err := proto.Unmarshal(value, rec); err != nil {
		g.failed = true
		g.deps.Logger.Error("decode app record", "app", appKey, "err", err)
		return
	}
	g.rec = rec
	g.deps.Cache.Put(appKey, rec)
}

func (g *grain) create(m *messages.CreateApp) *messages.AppReply {
	if g.failed {
		return &messages.AppReply{Error: unavailable()}
	}
	if m.Org+"#"+m.Name != g.appKey {
		return &messages.AppReply{Error: invalid("name")}
	}
	if g.rec != nil {
		return &messages.AppReply{Error: invalid("name")}
	}

	secret := randomHex(32)
	sum := sha256.Sum256([]byte(secret))
	now := g.deps.Now().UnixMilli()
	rec := &messages.AppRecord{
		Org:              m.Org,
		Name:             m.Name,
		Uuid:             newUUID(),
		ClientId:         "YXA6" + randomHex(11),
		ClientSecretHash: sum[:],
		TokenKey:         randomBytes(32),
		Created:          now,
		Modified:         now,
		Notifiers:        map[string]*messages.Notifier{},
		Config:           push.DefaultPushConfig(),
		Templates:        push.BuiltinTemplates(now),
	}
	if errReply := g.store(rec); errReply != nil {
		return &messages.AppReply{Error: errReply}
	}
	return &messages.AppReply{App: rec, ClientSecret: secret}
}

func (g *grain) get() *messages.AppReply {
	if g.failed {
		return &messages.AppReply{Error: unavailable()}
	}
	if g.rec == nil {
		return &messages.AppReply{Error: notFound()}
	}
	return &messages.AppReply{App: g.rec}
}

func (g *grain) putNotifier(m *messages.PutNotifier) *messages.NotifierReply {
	if g.failed {
		return &messages.NotifierReply{Error: unavailable()}
	}
	if g.rec == nil {
		return &messages.NotifierReply{Error: notFound()}
	}
	if m.Notifier == nil {
		return &messages.NotifierReply{Error: invalid("notifier")}
	}

	now := g.deps.Now().UnixMilli()
	old := g.rec.Notifiers[m.Notifier.Name]
	var n *messages.Notifier
	switch {
	case m.Create && old != nil:
		return &messages.NotifierReply{Error: invalid("name")}
	case m.Create:
		n = proto.Clone(m.Notifier).(*messages.Notifier)
		if n.Environment == "" {
			n.Environment = "production"
		}
		n.Created = now
	case old == nil:
		return &messages.NotifierReply{Error: notFound()}
	default:
		var errReply *messages.Error
		if n, errReply = mergeNotifier(old, m); errReply != nil {
			return &messages.NotifierReply{Error: errReply}
		}
	}
	n.Modified = now

	// The merged result must validate as a whole before anything is stored.
	if e := messages.ValidateNotifier(n, true); e != nil {
		return &messages.NotifierReply{Error: e}
	}

	rec := proto.Clone(g.rec).(*messages.AppRecord)
	if rec.Notifiers == nil {
		rec.Notifiers = map[string]*messages.Notifier{}
	}
	rec.Notifiers[n.Name] = n
	rec.Modified = now
	if e := g.store(rec); e != nil {
		return &messages.NotifierReply{Error: e}
	}
	return &messages.NotifierReply{Notifier: n}
}

// mergeNotifier applies a partial update to old: present fields replace
// old ones and credentials merge per field. The provider cannot change.
func mergeNotifier(old *messages.Notifier, m *messages.PutNotifier) (*messages.Notifier, *messages.Error) {
	in := m.Notifier
	n := proto.Clone(old).(*messages.Notifier)
	if in.Provider != "" && in.Provider != old.Provider {
		return nil, invalid("provider")
	}
	if in.Environment != "" {
		n.Environment = in.Environment
	}
	if m.HasEnabled {
		n.Enabled = in.Enabled
	}
	if in.Endpoint != "" {
		n.Endpoint = in.Endpoint
	}
	if in.AuthEndpoint != "" {
		n.AuthEndpoint = in.AuthEndpoint
	}
	if n.Credentials == nil {
		n.Credentials = map[string]string{}
	}
	maps.Copy(n.Credentials, in.Credentials)
	return n, nil
}

func (g *grain) deleteNotifier(m *messages.DeleteNotifier) *messages.NotifierReply {
	if g.failed {
		return &messages.NotifierReply{Error: unavailable()}
	}
	if g.rec == nil {
		return &messages.NotifierReply{Error: notFound()}
	}
	old := g.rec.Notifiers[m.Name]
	if old == nil {
		return &messages.NotifierReply{Error: notFound()}
	}

	// Deleting a notifier keeps its bindings (SPEC.md §4): pushes to them
	// stop at step 12 until a notifier of that name exists again.
	rec := proto.Clone(g.rec).(*messages.AppRecord)
	delete(rec.Notifiers, m.Name)
	rec.Modified = g.deps.Now().UnixMilli()
	if e := g.store(rec); e != nil {
		return &messages.NotifierReply{Error: e}
	}
	return &messages.NotifierReply{Notifier: old}
}

// store makes rec durable through the lease, then adopts and publishes it.
// On failure nothing changes and the caller gets the error to reply.
func (g *grain) store(rec *messages.AppRecord) *messages.Error {
	value, err := proto.Marshal(rec)
	if err != nil {
		return &messages.Error{Code: "internal", Description: "encode app record"}
	}
	if err := g.lease.Write(context.Background(), value); err != nil {
		g.deps.Logger.Error("write app record", "app", g.appKey, "err", err)
		return unavailable()
	}
	g.rec = rec
	g.deps.Cache.Put(g.appKey, rec)
	return nil
}

func invalid(field string) *messages.Error {
	return &messages.Error{Code: "illegal_argument", Field: field,
		Description: "parameters is invalid : " + field}
}

func notFound() *messages.Error {
	return &messages.Error{Code: "not_found", Description: "url is invalid"}
}

func unavailable() *messages.Error {
	return &messages.Error{Code: "unavailable", Description: "app state is unavailable, retry"}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// newUUID returns a random (version 4) UUID in its canonical text form.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-")
}
