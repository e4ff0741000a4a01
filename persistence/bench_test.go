package persistence

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkLeaseWriteSynced measures concurrent synced writes from 64
// goroutines, each owning one register, on disk. Group commit should make
// writes/s far exceed the disk's fsyncs/s.
func BenchmarkLeaseWriteSynced(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	defer s.Close()
	regs := NewLocalRegisters(s, "bench")

	const writers = 64
	leases := make([]Lease, writers)
	for i := range leases {
		leases[i], _, err = regs.Activate(context.Background(), UserKey("org#app", fmt.Sprint(i)))
		if err != nil {
			b.Fatalf("Activate: %v", err)
		}
	}
	value := make([]byte, 256)

	var next atomic.Int64 // writes handed out so far, up to b.N
	var failed atomic.Pointer[error]
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, lease := range leases {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := lease.Write(context.Background(), value); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if errp := failed.Load(); errp != nil {
		b.Fatalf("Write: %v", *errp)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
