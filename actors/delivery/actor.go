package delivery

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// Messages of a delivery actor. They are local only: the registry and the
// actor's own workers and timers send them.
type (
	// sendRequest carries one push and the notifier as configured now.
	sendRequest struct {
		notifier *messages.Notifier
		send     *messages.Send
	}
	// attemptDone is a worker's report of one vendor request.
	attemptDone struct {
		job *job
		res vendors.Result
	}
	// retryDue fires when a job's backoff has passed.
	retryDue struct{ job *job }
	// paceDue fires when the token bucket has a token again, or a probe
	// or a pause is due.
	paceDue struct{}
	// pauseNotifier pauses sending until a time (a daily cap seen here
	// or on another node).
	pauseNotifier struct {
		until  time.Time
		reason string
	}
	// retire: the registry forgot this idle actor; stop when empty.
	retire struct{}
	// shutdown: answer everything not in flight, stop when empty.
	shutdown struct{}
	// abort: cancel the requests still in flight.
	abort struct{}
)

// errNoVendor: no vendor client is registered for the notifier's provider.
var errNoVendor = errors.New("no vendor client for provider")

// pusher is a vendor client as the actor uses it.
type pusher = vendors.Client

// job is one push through its attempts.
type job struct {
	send    *messages.Send
	apnsID  string
	first   time.Time // start of the first attempt; zero until then
	retries int       // retries made so far
	probe   bool      // this attempt probes an open circuit
	timer   *time.Timer
}

// notifierActor delivers the pushes of one notifier. Its state is touched
// only from Receive; workers and timers talk back through messages.
//
// Every start goes through pump, which applies VENDORS.md §1.4-1.6 in
// order: a paused notifier (daily cap) answers error, an open circuit
// answers fail except for its probe, and the pacer's in-flight cap and
// token bucket decide how many start now.
type notifierActor struct {
	reg    *Registry
	opts   *Options
	log    *slog.Logger
	key    string
	appKey string
	name   string
	done   chan struct{}
	policy retryPolicy

	// client is built from the notifier whose Modified is built; buildErr
	// is set instead when that notifier cannot make one (step 14).
	client   pusher
	provider string
	built    bool
	modified int64
	buildErr error

	// ctx is the parent of every vendor request; abort cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	// queue holds jobs waiting for an in-flight slot, retries first;
	// waiting holds jobs whose retry timer runs. Both count against
	// QueueSize.
	queue    []*job
	waiting  map[*job]struct{}
	inFlight int
	// work feeds the worker goroutines; workers counts them. Both are
	// created on the first attempt; work is closed when the actor stops.
	work     chan attemptWork
	workers  int
	draining bool // retired or shut down: stop once empty
	// shuttingDown refuses new sends and retries (Registry.Stop).
	shuttingDown bool

	// Resilience of VENDORS.md §1.4-1.6 (pacing.go).
	pacer     *vendors.Pacer
	circuit   breaker
	guard     unbindGuard
	lastAlert time.Time
	// pausedUntil is the end of a daily-cap pause; zero when sending.
	pausedUntil time.Time
	pauseReason string
	// paceTimer wakes pump when the bucket refills or a probe is due;
	// nil when none is set.
	paceTimer *time.Timer
	// health is what Registry.Health reads; published on changes.
	health *healthSlot
}

func newNotifierActor(r *Registry, key, appKey, name string, done chan struct{},
	health *healthSlot) *notifierActor {

	ctx, cancel := context.WithCancel(context.Background())
	return &notifierActor{
		reg:    r,
		opts:   &r.opts,
		log:    r.opts.Logger.With("app", appKey, "notifier", name),
		key:    key,
		appKey: appKey,
		name:   name,
		done:   done,
		policy: retryPolicy{
			maxRetries: vendors.MaxRetries,
			window:     vendors.RetryWindow,
			base:       r.opts.RetryBaseDelay,
			rnd:        r.opts.Rand,
		},
		ctx:     ctx,
		cancel:  cancel,
		waiting: map[*job]struct{}{},
		pacer: vendors.NewPacer(vendors.PaceConfig{MaxInFlight: r.opts.MaxInFlight,
			Rate: r.opts.NotifierRate}, r.opts.Now()),
		circuit: breaker{interval: r.opts.ProbeInterval},
		health:  health,
	}
}

// Receive decodes a message and carries out what it asks.
func (a *notifierActor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		c.SetReceiveTimeout(a.opts.IdleTimeout)
	case *sendRequest:
		a.onSend(c, m)
	case *attemptDone:
		a.onAttemptDone(c, m)
	case *retryDue:
		a.onRetryDue(c, m.job)
	case *paceDue:
		a.paceTimer = nil
		a.pump(c)
	case *pauseNotifier:
		a.pause(m.until, m.reason)
		a.pump(c)
	case *actor.ReceiveTimeout:
		a.onIdle(c)
	case *retire:
		a.draining = true
	case *shutdown:
		a.onShutdown()
	case *abort:
		a.cancel()
	case *actor.Stopping:
		return
	case *actor.Stopped:
		a.onStopped()
		return
	}
	a.stopIfDrained(c)
}

// onSend admits one push: it answers at once when the notifier cannot send
// or the queue is full, else starts or queues it.
func (a *notifierActor) onSend(c actor.Context, m *sendRequest) {
	s := m.send
	if a.shuttingDown {
		a.reg.reply(s, a.provider, stopped(s, vendors.StatusError, DetailPushFailed, ReasonShuttingDown))
		return
	}
	a.rebuildIfChanged(m.notifier)
	if a.buildErr != nil {
		a.reg.reply(s, a.provider, stopped(s, vendors.StatusFail, DetailNoPushToken, reasonOf(a.buildErr)))
		return
	}

	if len(a.queue)+len(a.waiting) >= a.opts.QueueSize {
		a.reg.reply(s, a.provider, stopped(s, vendors.StatusError, DetailPushFailed, ReasonOverloaded))
		return
	}
	a.queue = append(a.queue, &job{send: s, apnsID: apnsID(s.MsgId, s.DeviceToken)})
	a.pump(c)
}

// rebuildIfChanged makes a new client when the notifier changed since the
// current one was built; pushes in flight finish on the old client.
func (a *notifierActor) rebuildIfChanged(n *messages.Notifier) {
	a.provider = n.Provider
	if a.built && n.Modified == a.modified {
		return
	}
	if a.client != nil {
		a.client.Close()
		a.client = nil
	}
	a.built, a.modified = true, n.Modified
	// New credentials deserve a new verdict.
	if a.circuit.open {
		a.circuit.reset()
		a.publish()
	}

	a.client, a.buildErr = a.build(n)
	if a.buildErr != nil {
		a.log.Warn("notifier cannot send", "provider", n.Provider, "err", a.buildErr)
		return
	}
	a.log.Info("vendor client built", "provider", n.Provider, "environment", n.Environment)
}

// build makes the vendor client of n through the factory its provider's
// package registered (vendors/all links them in).
func (a *notifierActor) build(n *messages.Notifier) (pusher, error) {
	factory, ok := vendors.Lookup(n.Provider)
	if !ok {
		// A provider whose vendors/<name> package is not linked into this
		// binary (vendors/all imports every one) stops at step 14.
		return nil, errNoVendor
	}

	client, err := factory(vendors.Config{
		Notifier:       n,
		RootCAs:        a.opts.RootCAs,
		Logger:         a.log,
		RequestTimeout: a.opts.RequestTimeout,
		Now:            a.opts.Now,
	})
	if err != nil {
		return nil, err
	}
	if client == nil {
		return nil, errors.New("vendor factory returned no client")
	}
	return client, nil
}

// reasonOf gives a short vendor_reason for a build failure; FieldError
// texts name the field only, never the secret.
func reasonOf(err error) string {
	var fe *vendors.FieldError
	if errors.As(err, &fe) {
		return fe.Error()
	}
	return err.Error()
}

// start runs one attempt of j on a worker. The job holds an in-flight slot
// only while its request runs.
func (a *notifierActor) start(c actor.Context, j *job) {
	now := a.opts.Now()
	if j.first.IsZero() {
		j.first = now
	}
	if a.client == nil {
		// The notifier broke between this job's attempts: step 14.
		a.reg.reply(j.send, a.provider, stopped(j.send, vendors.StatusFail, DetailNoPushToken,
			reasonOf(a.buildErr)))
		return
	}

	// Requests end with the retry window at the latest (VENDORS.md §1.3).
	ctx, cancel := context.WithTimeout(a.ctx, j.first.Add(a.policy.window).Sub(now))
	a.inFlight++
	a.ensureWorkers(c)
	// Never blocks: the channel holds MaxInFlight and the pacer's cap
	// never exceeds it.
	a.work <- attemptWork{ctx: ctx, cancel: cancel, job: j, client: a.client}
}

// attemptWork is one vendor request handed to a worker.
type attemptWork struct {
	ctx    context.Context
	cancel context.CancelFunc
	job    *job
	client pusher
}

// ensureWorkers starts workers until there is one per request in flight.
// Workers live as long as the actor: a goroutine per request would pay
// for a fresh stack growing through the HTTP/2 client on every push.
func (a *notifierActor) ensureWorkers(c actor.Context) {
	if a.work == nil {
		a.work = make(chan attemptWork, a.opts.MaxInFlight)
	}
	for a.workers < a.inFlight {
		a.workers++
		go a.worker(a.work, c.Self(), c.ActorSystem())
	}
}

// worker runs attempts until the actor stops and closes work. It reports
// each result to the actor as a message, so the actor's state is only
// touched from its mailbox.
func (a *notifierActor) worker(work <-chan attemptWork, self *actor.PID, system *actor.ActorSystem) {
	for w := range work {
		s := w.job.send
		res := w.client.Push(w.ctx, s.DeviceToken, s.Notification, w.job.apnsID)
		w.cancel()
		system.Root.Send(self, &attemptDone{job: w.job, res: res})
	}
}

// onAttemptDone frees the slot, lets the resilience state learn from the
// answer, then retries or answers.
func (a *notifierActor) onAttemptDone(c actor.Context, m *attemptDone) {
	a.inFlight--
	j := m.job
	res := a.learn(j, m.res)
	j.probe = false

	delay, again := a.policy.next(res, j.retries, j.first, a.opts.Now())
	if again && !a.pausedUntil.IsZero() {
		again = false // a daily cap lasts hours: answer now
	}
	if again && !a.shuttingDown {
		j.retries++
		a.waiting[j] = struct{}{}
		self, system := c.Self(), c.ActorSystem()
		j.timer = time.AfterFunc(delay, func() {
			system.Root.Send(self, &retryDue{job: j})
		})
	} else {
		a.finish(j, res)
	}
	a.pump(c)
}

// onRetryDue puts a job whose backoff passed back to work, ahead of new
// sends.
func (a *notifierActor) onRetryDue(c actor.Context, j *job) {
	if _, ok := a.waiting[j]; !ok {
		return // answered already by shutdown
	}
	delete(a.waiting, j)
	a.queue = append([]*job{j}, a.queue...)
	a.pump(c)
}

// finish answers the job's final outcome; a token-invalid one also
// unbinds the device through its user grain.
func (a *notifierActor) finish(j *job, res vendors.Result) {
	s := j.send
	if res.Class == vendors.TokenInvalid && a.opts.OnTokenInvalid != nil {
		a.opts.OnTokenInvalid(a.appKey, s.Recipient, &messages.Unbind{
			DeviceId:     s.DeviceId,
			NotifierName: s.NotifierName,
			DeviceToken:  s.DeviceToken,
			NotAfter:     res.Timestamp,
		})
	}
	o := outcome(j.send, res)
	if res.Class != vendors.Delivered {
		a.log.Debug("push failed", "token", vendors.MaskToken(j.send.DeviceToken),
			"class", res.Class.String(), "status", res.HTTPStatus,
			"reason", o.Result.VendorReason, "retries", j.retries)
	}
	a.reg.reply(j.send, a.provider, o)
}

// onIdle retires the actor when it holds no work; otherwise it waits for
// another idle period.
func (a *notifierActor) onIdle(c actor.Context) {
	// A paused notifier stays, so the pause and its health entry last.
	paused := !a.pausedUntil.IsZero() && a.opts.Now().Before(a.pausedUntil)
	if a.inFlight == 0 && len(a.queue) == 0 && len(a.waiting) == 0 && !paused {
		a.reg.retire(a.key, c.Self())
		return
	}
	c.SetReceiveTimeout(a.opts.IdleTimeout)
}

// onShutdown answers queued and waiting jobs at once; in-flight ones finish
// (or are aborted) and stopIfDrained stops the actor after them.
func (a *notifierActor) onShutdown() {
	a.draining, a.shuttingDown = true, true
	for j := range a.waiting {
		j.timer.Stop()
		delete(a.waiting, j)
		a.reg.reply(j.send, a.provider, stopped(j.send, vendors.StatusError, DetailPushFailed,
			ReasonShuttingDown))
	}
	for _, j := range a.queue {
		a.reg.reply(j.send, a.provider, stopped(j.send, vendors.StatusError, DetailPushFailed,
			ReasonShuttingDown))
	}
	a.queue = nil
}

func (a *notifierActor) stopIfDrained(c actor.Context) {
	if a.draining && a.inFlight == 0 && len(a.queue) == 0 && len(a.waiting) == 0 {
		c.Stop(c.Self())
	}
}

func (a *notifierActor) onStopped() {
	a.cancel()
	if a.paceTimer != nil {
		a.paceTimer.Stop()
	}
	if a.work != nil {
		close(a.work)
	}
	if a.client != nil {
		a.client.Close()
	}
	close(a.done)
}
