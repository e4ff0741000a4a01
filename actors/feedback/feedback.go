// Package feedback polls the vendors that report dead device tokens only
// through a feedback API (Xiaomi MiPush, VENDORS.md §2.5) and unbinds each
// token it gets. MiPush answers bare tokens, so the token register
// (package token) supplies each token's owner.
//
// Discovery: on every tick the poller looks at the apps this node's app
// cache holds (apps it created, changed or served a request for since it
// started) and polls every enabled notifier of provider "xiaomi" among
// them, with its own client built through vendors.Lookup from the
// notifier. A changed notifier (new modified time) gets a new client; a
// removed or disabled one is closed. MiPush keeps a token's report until
// someone polls, so an app no node has loaded yet is polled once one does.
//
// TODO: in a cluster every node that loaded an app polls its notifiers,
// and MiPush hands each token to only one of them; that is still correct
// (any node can unbind any user) but wasteful. One node per notifier (for
// example the first of the ring's replicas of the notifier's key) should
// poll once the ring exists (issue 4).
package feedback

import (
	"context"
	"crypto/x509"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/cluster"

	"github.com/herald-im/herald/actors/token"
	"github.com/herald-im/herald/actors/user"
	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/vendors"
	"github.com/herald-im/herald/vendors/xiaomi"
)

// requestTimeout bounds each request to a grain; workers bounds the
// tokens of one notifier handled at once.
const (
	requestTimeout = 5 * time.Second
	workers        = 8
)

// Options configure a Poller.
type Options struct {
	// Cluster reaches the token and user grains.
	Cluster *cluster.Cluster
	// Apps returns the app records this node holds, keyed by appkey.
	Apps func() map[string]*messages.AppRecord
	// Interval is the time between polls; 0 means xiaomi.PollInterval.
	Interval time.Duration
	// RootCAs verifies the feedback servers; nil means vendors.TrustPool().
	RootCAs *x509.CertPool
	Logger  *slog.Logger
	Now     func() time.Time
}

// Poller runs the polls of one node. Start it once; Stop ends it.
type Poller struct {
	opts   Options
	tokens *token.Client

	// clients is touched only by the loop goroutine.
	clients map[string]*source

	cancel context.CancelFunc
	done   chan struct{}
}

// source is one notifier's feedback client.
type source struct {
	appKey   string
	notifier string
	modified int64
	client   vendors.Client
	fetch    xiaomi.InvalidTokenSource
}

// Start begins polling every Interval until Stop.
func Start(opts Options) *Poller {
	if opts.Interval <= 0 {
		opts.Interval = xiaomi.PollInterval
	}
	if opts.RootCAs == nil {
		opts.RootCAs = vendors.TrustPool()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Poller{opts: opts, tokens: token.NewClient(opts.Cluster, requestTimeout),
		clients: map[string]*source{}, cancel: cancel, done: make(chan struct{})}
	go p.loop(ctx)
	return p
}

// Stop ends the polls, waits for the one running and closes the clients.
func (p *Poller) Stop() {
	p.cancel()
	<-p.done
}

func (p *Poller) loop(ctx context.Context) {
	defer close(p.done)
	defer func() {
		for _, s := range p.clients {
			s.client.Close()
		}
	}()
	tick := time.NewTicker(p.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p.discover()

		var wg sync.WaitGroup
		for _, s := range p.clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.poll(ctx, s)
			}()
		}
		wg.Wait()
	}
}

// discover brings the client set in line with the xiaomi notifiers of the
// apps this node holds.
func (p *Poller) discover() {
	seen := map[string]bool{}
	for appKey, rec := range p.opts.Apps() {
		for name, n := range rec.GetNotifiers() {
			if n.Provider != xiaomi.Provider || !n.Enabled {
				continue
			}
			key := appKey + "\x00" + name
			seen[key] = true
			if s := p.clients[key]; s != nil && s.modified == n.Modified {
				continue
			}
			p.replace(key, p.build(appKey, n))
		}
	}
	for key := range p.clients {
		if !seen[key] {
			p.replace(key, nil)
		}
	}
}

// replace closes the client under key and installs s (nil: none).
func (p *Poller) replace(key string, s *source) {
	if old := p.clients[key]; old != nil {
		old.client.Close()
		delete(p.clients, key)
	}
	if s != nil {
		p.clients[key] = s
	}
}

// build makes the feedback client of one notifier; nil if it cannot.
func (p *Poller) build(appKey string, n *messages.Notifier) *source {
	log := p.opts.Logger.With("app", appKey, "notifier", n.Name)
	factory, ok := vendors.Lookup(n.Provider)
	if !ok {
		log.Error("no client for provider", "provider", n.Provider)
		return nil
	}
	c, err := factory(vendors.Config{Notifier: n, RootCAs: p.opts.RootCAs, Logger: log,
		Now: p.opts.Now})
	if err != nil {
		log.Warn("build feedback client", "err", err)
		return nil
	}
	fetch, ok := c.(xiaomi.InvalidTokenSource)
	if !ok {
		c.Close()
		log.Error("client has no feedback API", "provider", n.Provider)
		return nil
	}
	return &source{appKey: appKey, notifier: n.Name, modified: n.Modified, client: c,
		fetch: fetch}
}

// poll fetches one notifier's dead tokens and unbinds each of them.
func (p *Poller) poll(ctx context.Context, s *source) {
	log := p.opts.Logger.With("app", s.appKey, "notifier", s.notifier)
	started := p.opts.Now().UnixMilli()
	dead, err := s.fetch.FetchInvalid(ctx)
	if err != nil {
		log.Warn("poll feedback", "err", err)
		return
	}
	if len(dead) == 0 {
		return
	}
	log.Info("feedback reported dead tokens", "count", len(dead))

	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, tok := range dead {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			p.unbind(ctx, log, s, tok, started)
		}()
	}
	wg.Wait()
}

// unbind removes one dead token from its owner and from any user still
// waiting to drop it (the stale list). Bindings written after the poll
// started are kept: the token was bound again since.
func (p *Poller) unbind(ctx context.Context, log *slog.Logger, s *source, tok string,
	started int64) {

	if tok == "" || len(tok) > messages.MaxDeviceTokenBytes {
		return
	}
	owner, err := p.tokens.Owner(ctx, s.appKey, s.notifier, tok)
	if err != nil {
		log.Warn("find dead token's owner", "token", vendors.MaskToken(tok), "err", err)
		return
	}
	if owner == nil {
		return
	}
	if owner.User != "" {
		p.request(log, s.appKey, owner.User, &messages.Unbind{DeviceId: owner.DeviceId,
			NotifierName: s.notifier, DeviceToken: tok, NotAfter: started})
	}
	for _, u := range owner.Stale {
		p.request(log, s.appKey, u, &messages.ReleaseToken{NotifierName: s.notifier,
			DeviceToken: tok, NotAfter: owner.Stamp})
	}
}

// request sends m to a user's grain and logs a failure; the next feedback
// poll does not repeat the token, so a failure leaves the binding until a
// push to it is refused or the user rebinds.
func (p *Poller) request(log *slog.Logger, appKey, u string, m any) {
	reply, err := p.opts.Cluster.Request(user.Identity(appKey, u), user.Kind, m,
		cluster.WithTimeout(requestTimeout))
	if err == nil {
		if e := replyError(reply); e != nil {
			log.Warn("unbind dead token", "user", u, "code", e.Code)
		}
		return
	}
	log.Warn("unbind dead token", "user", u, "err", err)
}

func replyError(reply any) *messages.Error {
	switch r := reply.(type) {
	case *messages.UnbindReply:
		return r.Error
	case *messages.ReleaseTokenReply:
		return r.Error
	}
	return &messages.Error{Code: messages.CodeInternal,
		Description: "unexpected reply"}
}
