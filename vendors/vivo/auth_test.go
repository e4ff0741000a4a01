package vivo

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-im/herald/vendors"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTokenRenewedHourly(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var fetches atomic.Int32
	tc := &tokenCache{now: clock.now, fetch: func(context.Context) (string, error) {
		return "tok" + string(rune('0'+fetches.Add(1))), nil
	}}
	ctx := context.Background()

	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "tok1"},
		{59 * time.Minute, "tok1"},
		{time.Minute - time.Nanosecond, "tok1"},
		{time.Nanosecond, "tok2"}, // 1 h after the first fetch
		{30 * time.Minute, "tok2"},
	}
	for i, s := range steps {
		clock.add(s.advance)
		got, err := tc.get(ctx)
		if err != nil || got != s.want {
			t.Errorf("step %d: %q, %v; want %q", i, got, err, s.want)
		}
	}

	tc.invalidate("tok1") // stale: the current token stays
	if got, _ := tc.get(ctx); got != "tok2" {
		t.Errorf("after invalidating a stale token: %q, want tok2", got)
	}
	tc.invalidate("tok2")
	if got, _ := tc.get(ctx); got != "tok3" {
		t.Errorf("after invalidating the current token: %q, want tok3", got)
	}
}

func TestTokenFetchSingleFlight(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	release := make(chan struct{})
	var fetches atomic.Int32
	tc := &tokenCache{now: clock.now, fetch: func(context.Context) (string, error) {
		fetches.Add(1)
		<-release
		return "tok", nil
	}}

	const callers = 50
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tok, err := tc.get(context.Background()); err != nil || tok != "tok" {
				errs <- errors.Join(err, errors.New("got "+tok))
			}
		}()
	}
	// Let the fetch finish once it has started; callers join it meanwhile.
	deadline := time.Now().Add(5 * time.Second)
	for fetches.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
}

func TestTokenFailureNotRepeatedWithinGap(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	var fetches atomic.Int32
	refused := &authError{class: vendors.CredentialError, err: errors.New("refused")}
	tc := &tokenCache{now: clock.now, fetch: func(context.Context) (string, error) {
		fetches.Add(1)
		return "", refused
	}}
	for range 5 {
		if _, err := tc.get(context.Background()); !errors.Is(err, refused) {
			t.Fatalf("err = %v", err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("fetches within the gap = %d, want 1", n)
	}
	clock.add(authRetryGap)
	_, _ = tc.get(context.Background())
	if n := fetches.Load(); n != 2 {
		t.Errorf("fetches after the gap = %d, want 2", n)
	}
}
