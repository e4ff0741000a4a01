package dispatch

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolRunsEverything schedules work from many goroutines, some of it
// blocking until later work ran, and checks that all of it ran: a pool
// that queued behind busy goroutines would deadlock here.
func TestPoolRunsEverything(t *testing.T) {
	p := NewPool(10, time.Second)
	const n = 2000
	var ran atomic.Int64
	var wg sync.WaitGroup
	release := make(chan struct{})

	// Blocked runs hold their goroutines until the last run releases them.
	for range 50 {
		wg.Add(1)
		p.Schedule(func() {
			defer wg.Done()
			<-release
			ran.Add(1)
		})
	}
	for i := range n {
		wg.Add(1)
		p.Schedule(func() {
			defer wg.Done()
			if ran.Add(1) == n {
				close(release)
			}
			_ = i
		})
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("pool ran %d of %d functions; blocked runs starved the rest", ran.Load(), n+50)
	}
	if got := ran.Load(); got != n+50 {
		t.Fatalf("ran %d functions, want %d", got, n+50)
	}
}

// TestPoolReusesAndShrinks checks that sequential work reuses one
// goroutine and that idle goroutines exit.
func TestPoolReusesAndShrinks(t *testing.T) {
	p := NewPool(10, 50*time.Millisecond)
	before := runtime.NumGoroutine()

	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		p.Schedule(wg.Done)
		wg.Wait()
	}
	if grown := runtime.NumGoroutine() - before; grown > 2 {
		t.Fatalf("100 sequential runs left %d goroutines, want reuse of one", grown)
	}

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("idle pool goroutines did not exit: %d over %d",
				runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
