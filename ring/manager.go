package ring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-im/herald/cluster"
)

// Errors of the Manager's lifecycle.
var (
	ErrNotStarted = errors.New("ring: manager not started")
	ErrStopped    = errors.New("ring: manager stopped")
)

// metaKey is where the ring state lives in the node's store.
const metaKey = "ring"

// Defaults of Config.
const (
	defaultPollInterval  = 200 * time.Millisecond
	defaultRetryInterval = 2 * time.Second
)

// MetaStore keeps the ring state on disk; *persistence.Store implements
// it. PutMeta must return only once the value is durable.
type MetaStore interface {
	PutMeta(key string, value []byte) error
	GetMeta(key string) ([]byte, error)
}

// Membership lists the nodes gossip knows; *cluster.Provider implements it.
type Membership interface {
	Members() []cluster.MemberInfo
}

// MigrateFunc copies the registers this node holds whose replica set
// gained nodes between from and to onto those nodes. from is the previous
// node set as a stable view; to is the current view. It is called again
// after a failure, and with a cancelled ctx when the ring moved on.
type MigrateFunc func(ctx context.Context, from, to View) error

// Config configures a Manager.
type Config struct {
	// NodeName is this node's stable name. Required.
	NodeName string
	// Store keeps the ring state across restarts. Required.
	Store MetaStore
	// Migrate runs this node's share of a ring change. Required.
	Migrate MigrateFunc
	// Clock drives polling and retries. Default SystemClock.
	Clock Clock
	// PollInterval is how often membership is read; a node that joins
	// is added within it, and Alive lags memberlist by at most it.
	// Default 200ms.
	PollInterval time.Duration
	// RetryInterval is the wait after a failed migration. Default 2s.
	RetryInterval time.Duration
	// Logger receives ring changes. Nil discards.
	Logger *slog.Logger
}

func (c *Config) validate() error {
	var errs []error
	if c.NodeName == "" {
		errs = append(errs, errors.New("NodeName: required"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("Store: required"))
	}
	if c.Migrate == nil {
		errs = append(errs, errors.New("Migrate: required"))
	}
	if c.PollInterval < 0 || c.RetryInterval < 0 {
		errs = append(errs, errors.New("PollInterval, RetryInterval: negative"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("ring config: %w", errors.Join(errs...))
	}
	return nil
}

// Manager owns this node's copy of the ring state. One goroutine (the
// loop) changes it: it reads membership, folds in the states peers sent,
// adds live nodes, removes nodes on request, runs migrations and ends
// them. Every change is persisted, then published as an immutable
// snapshot that View, Alive, Status and LocalState read without locks.
//
// It implements cluster.StateDelegate: pass it as cluster.Config.State.
type Manager struct {
	cfg Config
	log *slog.Logger

	snap atomic.Pointer[snapshot]

	// mu guards pending, the merge of every state peers sent since the
	// loop last looked. MergeRemoteState runs on memberlist goroutines
	// and must not block, so it only folds into pending and wakes the
	// loop.
	mu      sync.Mutex
	pending *State

	wake     chan struct{}        // cap 1: a peer state is pending
	removes  chan removeRequest   // operator removals, served by the loop
	migrated chan migrationResult // results of migration goroutines
	stop     chan struct{}        // closed by Stop
	done     chan struct{}        // closed when the loop returns
	started  atomic.Bool
	stopOnce sync.Once

	// baseCtx is cancelled by Stop; migrations run under it.
	baseCtx    context.Context
	cancelBase context.CancelFunc
	workers    sync.WaitGroup

	// Owned by the loop (and by Start before the loop runs).
	members Membership
	state   State
	dirty   bool // state not yet persisted
	// persistFailing is set while writes fail, so the failure is logged
	// once rather than every poll.
	persistFailing bool
	running        *migration
	nextID         uint64
	retryAt        time.Time
	warnedTS       map[string]bool // tombstoned live names already logged
}

// snapshot is what the loop publishes; it is never modified.
type snapshot struct {
	state   State
	encoded []byte
	members []cluster.MemberInfo
	alive   map[string]bool
	// dead lists the names memberlist declared dead (see Alive).
	dead map[string]bool
}

type removeRequest struct {
	name  string
	reply chan error
}

type migration struct {
	id     uint64
	epoch  uint64
	cancel context.CancelFunc
}

type migrationResult struct {
	id    uint64
	epoch uint64
	err   error
}

var _ cluster.StateDelegate = (*Manager)(nil)

// New loads the ring state from cfg.Store. The Manager gossips this state
// at once; it changes it only after Start.
func New(cfg Config) (*Manager, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = defaultPollInterval
	}
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = defaultRetryInterval
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	st, err := load(cfg.Store)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:      cfg,
		log:      logger,
		wake:     make(chan struct{}, 1),
		removes:  make(chan removeRequest),
		migrated: make(chan migrationResult),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		state:    st,
		warnedTS: map[string]bool{},
	}
	m.baseCtx, m.cancelBase = context.WithCancel(context.Background())
	if err := m.publish(nil); err != nil {
		return nil, err
	}
	return m, nil
}

func load(store MetaStore) (State, error) {
	b, err := store.GetMeta(metaKey)
	if err != nil {
		return State{}, fmt.Errorf("load ring state: %w", err)
	}
	if b == nil {
		return State{}, nil
	}
	st, err := Unmarshal(b)
	if err != nil {
		return State{}, fmt.Errorf("load ring state: %w", err)
	}
	return st, nil
}

// Start begins managing the ring with members as the source of liveness.
// Call it once the node is a started cluster member: its first step, run
// before Start returns, adds this node to the ring, so View includes it
// from then on (unless an operator removed this node's name).
func (m *Manager) Start(members Membership) error {
	if members == nil {
		return errors.New("start ring manager: members is nil")
	}
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("start ring manager: already started")
	}
	m.members = members
	m.step()
	go m.loop()
	return nil
}

// Stop ends the loop and any running migration and waits for them. It is
// safe to call more than once, and before Start.
func (m *Manager) Stop() {
	m.stopOnce.Do(func() {
		close(m.stop)
		m.cancelBase()
		if m.started.Load() {
			<-m.done
		}
		m.workers.Wait()
	})
}

// loop is the goroutine that owns the state. It steps on every poll tick,
// wake-up, removal and migration result.
func (m *Manager) loop() {
	defer close(m.done)
	for {
		tick := m.cfg.Clock.After(m.cfg.PollInterval)
		select {
		case <-m.stop:
			if m.running != nil {
				m.running.cancel()
			}
			return
		case <-tick:
		case <-m.wake:
		case req := <-m.removes:
			req.reply <- m.remove(req.name)
		case res := <-m.migrated:
			m.finishMigration(res)
		}
		m.step()
	}
}

// step brings the state up to date with what peers sent and who is
// alive, and starts or ends this node's migration.
func (m *Manager) step() {
	members := m.members.Members()
	alive := aliveSet(members, m.cfg.NodeName)
	st := m.state

	// What peers know comes first, so a node that joins an existing
	// cluster is added to that cluster's ring rather than founding one.
	if remote, ok := m.takePending(); ok {
		st = Merge(st, remote)
	}

	// Every live node that is not in the ring joins it, unless an
	// operator removed its name.
	for _, info := range members {
		n, ok := candidate(info)
		if !ok {
			continue
		}
		if st.Removed(n.Name) {
			m.warnRemoved(n.Name)
			continue
		}
		if next, changed := st.Join(n); changed {
			m.log.Info("node joins the ring", "peer", n.Name, "address", n.Address,
				"epoch", next.View.Epoch)
			st = next
		}
	}

	// A migration ends once every live node copied what it holds.
	if next, changed := st.Settle(func(name string) bool { return alive[name] }); changed {
		m.log.Info("ring migration finished", "epoch", next.View.Epoch)
		st = next
	}

	m.adopt(st)
	if err := m.publish(members); err != nil {
		m.log.Error("publish ring state", "err", err)
	}
	m.driveMigration()
}

// adopt makes st the current state, persisting it when it changed. A
// failed write is retried on the next step; until then the state is
// only in memory (and in the peers' copies).
func (m *Manager) adopt(st State) {
	if !st.Equal(m.state) {
		if st.View.Epoch != m.state.View.Epoch {
			m.log.Info("ring changed", "epoch", st.View.Epoch, "nodes", names(st.View.Nodes),
				"previous", names(st.View.Previous))
		}
		m.state, m.dirty = st, true
	}
	if !m.dirty {
		return
	}
	if err := m.persist(m.state); err != nil {
		if !m.persistFailing {
			m.log.Error("persist ring state; retrying every poll", "err", err)
		}
		m.persistFailing = true
		return
	}
	if m.persistFailing {
		m.log.Info("ring state persisted again")
	}
	m.dirty, m.persistFailing = false, false
}

func (m *Manager) persist(st State) error {
	b, err := st.Marshal()
	if err != nil {
		return err
	}
	if err := m.cfg.Store.PutMeta(metaKey, b); err != nil {
		return fmt.Errorf("persist ring state: %w", err)
	}
	return nil
}

// publish stores a new snapshot; members nil keeps the previous ones.
func (m *Manager) publish(members []cluster.MemberInfo) error {
	prev := m.snap.Load()
	s := &snapshot{state: m.state}
	if members != nil {
		s.members, s.alive = members, aliveSet(members, m.cfg.NodeName)
		s.dead = deadSet(members, m.cfg.NodeName)
	} else if prev != nil {
		s.members, s.alive, s.dead = prev.members, prev.alive, prev.dead
	} else {
		s.alive = map[string]bool{m.cfg.NodeName: true}
	}
	if prev != nil && prev.state.Equal(m.state) {
		s.encoded = prev.encoded
	} else {
		b, err := m.state.Marshal()
		if err != nil {
			return err
		}
		s.encoded = b
	}
	m.snap.Store(s)
	return nil
}

// warnRemoved logs, once per name, a live node whose name an
// operator removed: it must be given a new data directory to rejoin.
func (m *Manager) warnRemoved(name string) {
	if m.warnedTS[name] {
		return
	}
	m.warnedTS[name] = true
	m.log.Warn("a removed node is alive; it stays out of the ring", "peer", name)
}

// candidate turns a gossip member into a ring node: a live cluster member
// (not a client) whose Proto.Actor address is known.
func candidate(info cluster.MemberInfo) (Node, bool) {
	if info.State != cluster.MemberAlive || info.Client || info.MemberID == "" {
		return Node{}, false
	}
	host, port, err := net.SplitHostPort(info.Address)
	if err != nil || host == "" || port == "" || port == "0" {
		return Node{}, false
	}
	return Node{Name: info.Name, Address: info.Address}, true
}

// deadSet lists the names memberlist declared dead; self never is.
func deadSet(members []cluster.MemberInfo, self string) map[string]bool {
	dead := map[string]bool{}
	for _, info := range members {
		if info.State == cluster.MemberDead && info.Name != self {
			dead[info.Name] = true
		}
	}
	return dead
}

// aliveSet lists the names memberlist reports alive; self is always alive.
func aliveSet(members []cluster.MemberInfo, self string) map[string]bool {
	alive := make(map[string]bool, len(members)+1)
	for _, info := range members {
		if info.State == cluster.MemberAlive && !info.Client {
			alive[info.Name] = true
		}
	}
	alive[self] = true
	return alive
}

func names(nodes []Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return out
}
