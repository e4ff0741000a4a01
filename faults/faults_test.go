package faults

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-im/herald/vendorsim"
)

// apnsToken is the hex device token of APNs user i.
func apnsToken(i int) string { return fmt.Sprintf("%064x", i+1) }

// apnsFaults sets faults on the APNs emulator only.
func (e *env) apnsFaults(f vendorsim.Faults) {
	e.t.Helper()
	err := e.sim.SetFaults(vendorsim.FaultSet{Seed: 7,
		Vendors: map[string]vendorsim.Faults{"apns": f}})
	if err != nil {
		e.t.Fatal(err)
	}
}

// TestFaults runs the fault scenarios of issue 3 one after the other on
// one node: each burst is a few group messages to every bound user.
func TestFaults(t *testing.T) {
	e := newEnv(t, envOptions{maxInFlight: 256, queueSize: 10000})
	users := e.bind("a", "apns", 500, apnsToken)

	t.Run("baseline", func(t *testing.T) {
		e.t = t
		since := e.lastSeq()
		b := e.burst(users, 4)
		e.checkDelivery("apns", since, b)
		if b.statuses["success"] != b.pushes {
			t.Errorf("outcomes %v, want all %d success", b.statuses, b.pushes)
		}
		t.Logf("no faults: %d pushes in %v, %.0f pushes/s", b.pushes, b.elapsed, b.rate())
	})

	t.Run("503 with Retry-After on 5%", func(t *testing.T) {
		e.t = t
		e.apnsFaults(vendorsim.Faults{ErrorRate: 0.05, ErrorKind: vendorsim.ErrorKindTransient})
		defer e.apnsFaults(vendorsim.Faults{})
		since, before := e.lastSeq(), e.sim.Counters()["apns"]
		b := e.burst(users, 4)
		e.checkDelivery("apns", since, b)

		// A push ends in error only when each of its three budget
		// attempts drew a 503 or had its stream refused four times in a
		// row (every 503 shrinks its connection to 1 stream and refuses
		// the streams open on it): a handful in 2000. Allow 0.5 %, and
		// never a fail.
		if b.statuses["success"] < b.pushes-b.pushes/200 {
			t.Errorf("outcomes %v, want at most %d of %d not success; attempts %v",
				b.statuses, b.pushes/200, b.pushes, e.attempts("apns", since, b))
		}
		for k := range b.statuses {
			if k != "success" && !strings.HasPrefix(k, "error ") {
				t.Errorf("outcome %q: transient answers must end in success or error", k)
			}
		}
		after := e.sim.Counters()["apns"]
		errs := after.Answers["503 ServiceUnavailable"] - before.Answers["503 ServiceUnavailable"]
		if errs == 0 {
			t.Errorf("emulator answered no 503 (answers %v)", after.Answers)
		}
		t.Logf("5%% 503: %d pushes in %v, %.0f pushes/s; %d 503s, %d refused streams; %v",
			b.pushes, b.elapsed, b.rate(), errs, after.RefusedStreams-before.RefusedStreams,
			b.statuses)
	})

	t.Run("GOAWAY every 1000 requests", func(t *testing.T) {
		e.t = t
		e.apnsFaults(vendorsim.Faults{GoAwayEvery: 1000})
		defer e.apnsFaults(vendorsim.Faults{})
		goUsers := e.bind("g", "apns-goaway", 500, apnsToken)
		since, before := e.lastSeq(), e.sim.Counters()["apns"]
		b := e.burst(goUsers, 8)
		e.checkDelivery("apns", since, b)
		if b.statuses["success"] != b.pushes {
			t.Errorf("outcomes %v, want all %d success", b.statuses, b.pushes)
		}
		after := e.sim.Counters()["apns"]
		if after.GoAways == before.GoAways {
			t.Errorf("no GOAWAY in %d requests", after.Requests-before.Requests)
		}
		t.Logf("GOAWAY/1000: %d pushes in %v, %.0f pushes/s; %d GOAWAYs, %d connections",
			b.pushes, b.elapsed, b.rate(), after.GoAways-before.GoAways,
			after.Connections-before.Connections)
	})

	t.Run("stream limit drops to 1 after a rejection", func(t *testing.T) {
		e.t = t
		// flaky tokens get one 503 per push: each shrinks its connection
		// to 1 stream while hundreds of pushes are open on it.
		flaky := e.bind("x", "apns", 25, func(i int) string {
			return fmt.Sprintf("flaky%059x", i)
		})
		members := append(append([]user{}, users[:475]...), flaky...)
		since, before := e.lastSeq(), e.sim.Counters()["apns"]
		b := e.burst(members, 2)
		e.checkDelivery("apns", since, b)
		if b.statuses["success"] != b.pushes {
			t.Errorf("outcomes %v, want all %d success", b.statuses, b.pushes)
		}
		after := e.sim.Counters()["apns"]
		refused := after.RefusedStreams - before.RefusedStreams
		if refused == 0 {
			t.Errorf("no stream refused after %d rejections",
				after.Answers["503 ServiceUnavailable"]-before.Answers["503 ServiceUnavailable"])
		}
		t.Logf("shrink to 1: %d pushes in %v, %.0f pushes/s; %d refused streams resent",
			b.pushes, b.elapsed, b.rate(), refused)
	})

	t.Run("OAuth endpoint failing for a while", func(t *testing.T) {
		e.t = t
		hw := e.bind("h", "huawei", 100, func(i int) string {
			return fmt.Sprintf("hw%030x", i+1)
		})
		e.gate.failing.Store(2)
		since := e.lastSeq()
		b := e.burst(hw, 2)
		e.checkDelivery("huawei", since, b)
		if got := e.gate.refused.Load(); got != 2 {
			t.Errorf("token endpoint refused %d fetches, want 2", got)
		}
		if e.gate.passed.Load() == 0 {
			t.Errorf("no token fetched after the endpoint recovered")
		}
		if b.statuses["success"] == 0 {
			t.Errorf("outcomes %v, want pushes to succeed once tokens come", b.statuses)
		}
		for k := range b.statuses {
			if k != "success" && !strings.HasPrefix(k, "error ") {
				t.Errorf("outcome %q: an auth outage must end in success or error", k)
			}
		}
		t.Logf("token endpoint down for 2 fetches: %d pushes in %v; %v",
			b.pushes, b.elapsed, b.statuses)
	})
}

// heapBound is how much the live heap may grow while a slow vendor holds
// a burst ten times the delivery queue.
const heapBound = 64 << 20

// TestSlowVendorMemoryBounded pushes a burst at an APNs that answers
// after 2 s: the delivery queue stays at its bound (the rest is answered
// overloaded at once), requests in flight stay at the cap, and the heap
// grows by less than heapBound.
func TestSlowVendorMemoryBounded(t *testing.T) {
	const maxInFlight, queue = 128, 256
	e := newEnv(t, envOptions{maxInFlight: maxInFlight, queueSize: queue})
	users := e.bind("s", "apns", 1000, apnsToken)
	e.apnsFaults(vendorsim.Faults{Latency: vendorsim.Latency{Kind: vendorsim.LatencyFixed,
		P50: vendorsim.Duration(2 * time.Second)}})

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	since := e.lastSeq()
	b := e.burst(users, 3)
	close(stop)
	wg.Wait()
	e.checkDelivery("apns", since, b)

	growth := int64(peak.Load()) - int64(base.HeapAlloc)
	overloaded := b.statuses["error overloaded"]
	if overloaded == 0 {
		t.Errorf("outcomes %v: a burst of %d at a 2 s vendor, want some overloaded",
			b.statuses, b.pushes)
	}
	if b.statuses["success"]+overloaded != b.pushes {
		t.Errorf("outcomes %v, want only success and overloaded", b.statuses)
	}
	if peakIn := e.sim.Counters()["apns"].PeakInFlight; peakIn > maxInFlight {
		t.Errorf("emulator saw %d requests in flight, cap %d", peakIn, maxInFlight)
	}
	if growth > heapBound {
		t.Errorf("heap grew %d MiB during the burst, bound %d MiB", growth>>20, heapBound>>20)
	}
	t.Logf("2 s vendor: %d pushes in %v, %v; heap growth %.1f MiB (bound %d MiB)",
		b.pushes, b.elapsed, b.statuses, float64(growth)/(1<<20), heapBound>>20)
}
