package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-im/herald/chaos"
	"github.com/herald-im/herald/client"
	"github.com/herald-im/herald/messages"
)

// loader runs the load of heraldbench run.
type loader struct {
	o        runOptions
	r        *rest
	c        *client.Client
	j        *chaos.Writer
	logger   *slog.Logger
	token    string
	org, app string
	runID    string

	msgSeq atomic.Uint64
	sum    summary
}

// summary is what run prints and writes to --report.
type summary struct {
	Users          int     `json:"users"`
	Seconds        float64 `json:"seconds"`
	MutationsTried int64   `json:"mutations_tried"`
	MutationsAcked int64   `json:"mutations_acked"`
	MutationsLeft  int64   `json:"mutations_unanswered"`
	Refused        int64   `json:"refused"`
	PushesAcked    int64   `json:"pushes_acked"`
	Pushed         int64   `json:"pushed"`
	Failed         int64   `json:"failed"`
	Skipped        int64   `json:"skipped"`
	Duplicate      int64   `json:"duplicate"`
	PushesLeft     int64   `json:"pushes_unanswered"`
	PushesPerSec   float64 `json:"pushes_per_sec"`
	MutationsPerS  float64 `json:"mutations_per_sec"`
}

// runLoad is heraldbench run: optional setup, then mutations and pushes
// for o.duration, then the summary.
func runLoad(ctx context.Context, o runOptions, stdout io.Writer, logger *slog.Logger) error {
	l := &loader{o: o, r: newREST(o.herald, o.attempt), logger: logger, token: o.token,
		runID: fmt.Sprintf("hb%x", time.Now().UnixNano())}
	l.org, l.app, _ = strings.Cut(o.app, "#")
	l.sum.Users = o.users

	setupCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if o.setup {
		token, err := setUp(setupCtx, l.r, o, logger)
		if err != nil {
			return err
		}
		l.token = token
	}
	j, err := chaos.Create(o.journal)
	if err != nil {
		return err
	}
	l.j = j
	j.Add(chaos.Entry{Kind: chaos.KindRun, App: o.app, Token: l.token, Notifier: notifierName,
		Users: o.users})
	stopFlush := flushEvery(j, time.Second)
	defer stopFlush()
	if o.setup {
		if err := l.bindStable(setupCtx); err != nil {
			_ = j.Close()
			return err
		}
		logger.Info("stable devices bound", "users", o.users)
	}

	if o.pushers > 0 {
		c, err := client.New(setupCtx, client.Config{Seeds: o.seeds, Timeout: o.attempt,
			Retries: -1, Logger: logger.With("part", "client")})
		if err != nil {
			_ = j.Close()
			return fmt.Errorf("client: %w", err)
		}
		l.c = c
		defer c.Close()
	}

	l.load(ctx)
	stopFlush()
	if err := j.Close(); err != nil {
		return err
	}
	return l.report(stdout)
}

// load runs the workers for the duration; unanswered requests are then
// retried for up to o.grace.
func (l *loader) load(ctx context.Context) {
	loadCtx, stopLoad := context.WithTimeout(ctx, l.o.duration)
	defer stopLoad()
	finishCtx, stopFinish := context.WithTimeout(ctx, l.o.duration+l.o.grace)
	defer stopFinish()

	start := time.Now()
	var wg sync.WaitGroup
	if l.o.rate > 0 {
		mutTick := ticker(loadCtx, l.o.rate)
		for w := range l.o.workers {
			wg.Go(func() { l.mutator(loadCtx, finishCtx, w, mutTick) })
		}
	}
	if l.c != nil {
		var pushTick <-chan struct{}
		if l.o.pushRate > 0 {
			pushTick = ticker(loadCtx, l.o.pushRate)
		}
		for range l.o.pushers {
			wg.Go(func() { l.pusher(loadCtx, finishCtx, pushTick) })
		}
	}
	wg.Wait()
	l.sum.Seconds = time.Since(start).Seconds()
}

// ticker sends about rate ticks per second until ctx ends, then closes.
func ticker(ctx context.Context, rate float64) <-chan struct{} {
	out := make(chan struct{}, 64)
	every := time.Duration(float64(time.Second) / rate)
	go func() {
		defer close(out)
		t := time.NewTicker(max(every, time.Millisecond))
		defer t.Stop()
		per := max(1, int(float64(time.Millisecond)/float64(every)))
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for range per {
					select {
					case out <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return out
}

// take waits for a tick (nil: no limit); false when the load is over.
func take(ctx context.Context, tick <-chan struct{}) bool {
	if tick == nil {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case _, ok := <-tick:
		return ok
	}
}

// mutator owns users w, w+workers, …: their writes are sequential, so
// the last acknowledged write of a key is the one that must survive.
func (l *loader) mutator(loadCtx, finishCtx context.Context, w int, tick <-chan struct{}) {
	var mine []int
	for i := w; i < l.o.users; i += l.o.workers {
		mine = append(mine, i)
	}
	if len(mine) == 0 {
		return
	}
	churn := make([]uint64, len(mine))
	lang := make([]uint64, len(mine))
	for visit := 0; take(loadCtx, tick); visit++ {
		k := visit % len(mine)
		key, n := chaos.KeyChurn, &churn[k]
		if (visit/len(mine))%2 == 1 {
			key, n = chaos.KeyLanguage, &lang[k]
		}
		*n++
		err := l.mutate(finishCtx, mine[k], key, *n)
		if errors.Is(err, errRefused) {
			l.logger.Error("mutation refused", "user", mine[k], "key", key, "error", err)
		}
		if finishCtx.Err() != nil {
			return
		}
	}
}

// mutate writes the n-th value of key for user i until it is
// acknowledged, refused or ctx ends; it journals the try and the ack.
func (l *loader) mutate(ctx context.Context, i int, key string, n uint64) error {
	user := chaos.UserName(i)
	base := "/" + l.org + "/" + l.app + "/users/" + user
	var path string
	var body map[string]any
	switch key {
	case chaos.KeyStable, chaos.KeyChurn:
		tok := chaos.StableToken(i)
		if key == chaos.KeyChurn {
			tok = chaos.ChurnToken(i, n)
		}
		path = base + "/push/binding"
		body = map[string]any{"device_id": key, "notifier_name": notifierName,
			"device_token": tok}
	case chaos.KeyLanguage:
		path = base + "/notification/language"
		body = map[string]any{"translationLanguage": chaos.Language(n)}
	}

	atomic.AddInt64(&l.sum.MutationsTried, 1)
	l.j.Add(chaos.Entry{Kind: chaos.KindTry, User: user, Key: key, N: n})
	err := l.r.call(ctx, "PUT", path, l.token, body, nil)
	switch {
	case err == nil:
		atomic.AddInt64(&l.sum.MutationsAcked, 1)
		l.j.Add(chaos.Entry{Kind: chaos.KindAck, User: user, Key: key, N: n})
	case errors.Is(err, errRefused):
		atomic.AddInt64(&l.sum.Refused, 1)
	default:
		atomic.AddInt64(&l.sum.MutationsLeft, 1)
	}
	return err
}

// pusher sends one-recipient messages to random users until the load
// ends, each resubmitted with the same msg_id until answered.
func (l *loader) pusher(loadCtx, finishCtx context.Context, tick <-chan struct{}) {
	for take(loadCtx, tick) {
		i := rand.N(l.o.users)
		msg := fmt.Sprintf("%s-%d", l.runID, l.msgSeq.Add(1))
		l.push(finishCtx, i, msg)
		if finishCtx.Err() != nil {
			return
		}
	}
}

func (l *loader) push(ctx context.Context, i int, msg string) {
	user := chaos.UserName(i)
	m := &messages.PushMessage{AppKey: l.o.app, MsgId: msg, From: "bench", ChatType: "chat",
		To: []string{user}, Body: &messages.Body{Type: "txt", Text: "hi"}}
	for n := 0; ; n++ {
		if n > 0 && backoff(ctx, n) != nil {
			atomic.AddInt64(&l.sum.PushesLeft, 1)
			return
		}
		attempt, cancel := context.WithTimeout(ctx, l.o.attempt)
		res, err := l.c.Push(attempt, m)
		cancel()
		if errors.Is(err, client.ErrInvalidInput) {
			atomic.AddInt64(&l.sum.Refused, 1)
			l.logger.Error("push refused", "msg", msg, "error", err)
			return
		}
		if err != nil || res.GetPending() > 0 || len(res.GetResults()) != 1 {
			continue
		}
		l.record(i, msg, res.GetResults()[0])
		return
	}
}

// record journals an answered push by its recipient's outcome.
func (l *loader) record(i int, msg string, r *messages.RecipientResult) {
	e := chaos.Entry{Kind: chaos.KindPush, User: chaos.UserName(i), Msg: msg}
	switch r.GetOutcome() {
	case messages.Outcome_OUTCOME_PUSHED:
		e.Outcome = chaos.PushFailed
		for _, b := range r.GetBindings() {
			if b.GetDeviceId() == chaos.KeyStable && b.GetStatus() == "success" {
				e.Outcome, e.Device = chaos.PushPushed, chaos.StableToken(i)
			}
		}
	case messages.Outcome_OUTCOME_SKIPPED:
		e.Outcome = chaos.PushSkipped
	case messages.Outcome_OUTCOME_DUPLICATE:
		e.Outcome = chaos.PushDuplicate
	default:
		e.Outcome = chaos.PushFailed
	}
	atomic.AddInt64(&l.sum.PushesAcked, 1)
	switch e.Outcome {
	case chaos.PushPushed:
		atomic.AddInt64(&l.sum.Pushed, 1)
	case chaos.PushSkipped:
		atomic.AddInt64(&l.sum.Skipped, 1)
	case chaos.PushDuplicate:
		atomic.AddInt64(&l.sum.Duplicate, 1)
	default:
		atomic.AddInt64(&l.sum.Failed, 1)
	}
	l.j.Add(e)
}

// report prints the summary and writes it to --report; refused requests
// (a bug in the generator or the node) fail the run.
func (l *loader) report(stdout io.Writer) error {
	s := &l.sum
	if s.Seconds > 0 {
		s.PushesPerSec = float64(s.PushesAcked) / s.Seconds
		s.MutationsPerS = float64(s.MutationsAcked) / s.Seconds
	}
	fmt.Fprintf(stdout, "heraldbench run: %d users, %.1f s\n", s.Users, s.Seconds)
	fmt.Fprintf(stdout, "  mutations: %d acked of %d sent (%.0f/s), %d unanswered, %d refused\n",
		s.MutationsAcked, s.MutationsTried, s.MutationsPerS, s.MutationsLeft, s.Refused)
	fmt.Fprintf(stdout, "  pushes: %d acked (%.0f/s): %d pushed, %d failed, %d skipped, "+
		"%d duplicate; %d unanswered\n", s.PushesAcked, s.PushesPerSec, s.Pushed, s.Failed,
		s.Skipped, s.Duplicate, s.PushesLeft)
	if err := writeReport(l.o.report, s); err != nil {
		return err
	}
	if s.Refused > 0 {
		return fmt.Errorf("%d requests refused", s.Refused)
	}
	return nil
}

func writeReport(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// flushEvery flushes j every interval until the returned stop is called.
func flushEvery(j *chaos.Writer, every time.Duration) (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = j.Flush()
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}
