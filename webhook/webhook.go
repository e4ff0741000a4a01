// Package webhook reports push events to each app's webhook (SPEC.md §12).
//
// A Dispatcher is an events.Sink. Emit checks the app's current webhook
// config (URL set, status in webhook.events) and queues the event; a fixed
// set of worker goroutines POST it, retrying after 1, 2, 4, 8 and 16 s
// (±20 %) on a non-2xx answer, a connection error or no answer within 5 s,
// then drop it. The queue is bounded and Emit never waits: a full queue
// drops the event and counts it, so a slow receiver never delays a push.
// Events waiting for a retry timer count against the queue too.
//
// Callers build one Dispatcher per node with New and stop it with Close,
// which lets queued events go out until its context is done.
package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/herald-im/herald/events"
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
)

// Defaults of Options, and the retry budget of SPEC.md §12.
const (
	DefaultWorkers   = 4
	DefaultQueueSize = 10000
	DefaultTimeout   = 5 * time.Second
	DefaultBaseDelay = time.Second
	// MaxRetries is how many times an event is sent again after its first
	// attempt failed.
	MaxRetries = 5
	// jitter is the ± share applied to each retry delay.
	jitter = 0.2
)

// ErrClosed is returned by Close when the Dispatcher was closed before.
var ErrClosed = errors.New("webhook: dispatcher is closed")

// Clock is the time source of retries. Tests replace it to see and speed
// up the backoff.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop cancels the call; it reports false if f already ran or runs.
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Options configure a Dispatcher. Zero fields take their defaults.
type Options struct {
	// Config returns an app's current push config; nil (or no webhook URL)
	// means the app has no webhook, and an empty webhook.events subscribes
	// to nothing. It is called inside Emit, so it must be fast and must
	// not block (the node's app cache). A nil Config turns webhooks off.
	Config func(appKey string) *messages.PushConfig
	// Workers is the number of concurrent POSTs (default 4).
	Workers int
	// QueueSize bounds events queued or waiting for a retry (default
	// 10000); more are dropped and counted.
	QueueSize int
	// Timeout bounds one POST with its answer (default 5 s, §12).
	Timeout time.Duration
	// BaseDelay is the first retry delay; later ones double (default 1 s).
	BaseDelay time.Duration
	// Rand draws jitter in [0, 1); nil means math/rand/v2.
	Rand func() float64
	// Clock schedules retries and dates events without a time; nil is
	// the wall clock.
	Clock Clock
	// RootCAs verifies https receivers; nil means vendors.TrustPool().
	RootCAs *x509.CertPool
	// Logger; nil discards.
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Config == nil {
		o.Config = func(string) *messages.PushConfig { return nil }
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = DefaultBaseDelay
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.RootCAs == nil {
		o.RootCAs = vendors.TrustPool()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Stats are a Dispatcher's counters since New.
type Stats struct {
	Queued    uint64 // events accepted by Emit
	Delivered uint64 // events a receiver answered 2xx
	Retried   uint64 // retries scheduled
	Dropped   uint64 // accepted events given up (retries spent, bad URL, Close)
	QueueFull uint64 // events refused by Emit because the queue was full
	Invalid   uint64 // events refused by Emit as malformed or after Close
}

// item is one queued event on its way through its attempts.
type item struct {
	ev      *events.Event
	url     string
	secret  string
	id      string // X-Herald-Event-Id, fixed across retries
	body    []byte // built on the first attempt
	retries int
	timer   Timer // set while waiting for a retry
}

// Dispatcher POSTs events to the apps' webhooks.
type Dispatcher struct {
	opts   Options
	log    *slog.Logger
	client *http.Client

	// queue holds items ready for a worker. Its capacity is QueueSize and
	// held never exceeds it, so sends into it never block.
	queue chan *item
	// stop is closed by Close to end the workers; ctx is cancelled with it
	// to end POSTs in flight.
	stop    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	workers sync.WaitGroup

	// mu guards the fields below; it is never held across I/O.
	mu      sync.Mutex
	held    int // items queued, in flight or waiting for a retry
	waiting map[*item]struct{}
	closing bool
	// drained is closed once closing is set and held is zero.
	drained chan struct{}
	stats   Stats
}

var _ events.Sink = (*Dispatcher)(nil)

// New starts a Dispatcher with its workers.
func New(opts Options) *Dispatcher {
	opts.setDefaults()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = opts.Workers

	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{
		opts: opts,
		log:  opts.Logger,
		client: &http.Client{
			Transport: tr,
			// A redirect is not a delivery; it is answered like any
			// other non-2xx and retried.
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		queue:   make(chan *item, opts.QueueSize),
		stop:    make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
		waiting: map[*item]struct{}{},
		drained: make(chan struct{}),
	}
	d.workers.Add(opts.Workers)
	for range opts.Workers {
		go d.work()
	}
	return d
}

// Emit queues ev for its app's webhook when the app has one and its
// status is subscribed. It never blocks.
func (d *Dispatcher) Emit(ev *events.Event) {
	if ev == nil || ev.AppKey == "" || !knownStatus(ev.Status) {
		d.count(func(s *Stats) { s.Invalid++ })
		return
	}
	hook := d.opts.Config(ev.AppKey).GetWebhook()
	if hook.GetUrl() == "" || !slices.Contains(hook.GetEvents(), ev.Status) {
		return
	}

	it := &item{ev: ev, url: hook.GetUrl(), secret: hook.GetSecret(), id: newEventID()}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closing:
		d.stats.Invalid++
		return
	case d.held >= d.opts.QueueSize:
		d.stats.QueueFull++
		return
	}
	d.held++
	d.stats.Queued++
	d.queue <- it // never blocks: len(queue) <= held <= cap(queue)
}

func knownStatus(s string) bool {
	return s == events.StatusSuccess || s == events.StatusFail || s == events.StatusError
}

// Stats returns the counters.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

func (d *Dispatcher) count(f func(*Stats)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(&d.stats)
}

// Close stops taking events and lets the queued ones (retries included)
// go out until ctx is done; then it cancels what is left, counting it as
// dropped, and stops the workers. It returns ctx's error when events were
// left.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return ErrClosed
	}
	d.closing = true
	if d.held == 0 {
		close(d.drained)
	}
	d.mu.Unlock()

	var err error
	select {
	case <-d.drained:
	case <-ctx.Done():
		err = ctx.Err()
	}

	// Stop the workers and whatever they are sending, then give up the
	// retries still waiting and the items still queued.
	close(d.stop)
	d.cancel()
	d.workers.Wait()
	var left []*item
	d.mu.Lock()
	for it := range d.waiting {
		// A timer that cannot be stopped is firing; requeue drops its item.
		if it.timer.Stop() {
			delete(d.waiting, it)
			left = append(left, it)
		}
	}
	for len(d.queue) > 0 {
		left = append(left, <-d.queue)
	}
	d.mu.Unlock()
	for _, it := range left {
		d.drop(it, "closed")
	}
	d.client.CloseIdleConnections()
	return err
}
