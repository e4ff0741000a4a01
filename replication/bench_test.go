package replication

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-im/herald/persistence"
)

// BenchmarkReplicatedWrites measures acknowledged writes per second with
// 64 concurrent writers on a three-node in-process cluster (every node a
// replica of every key), each writer owning one register and living on
// the nodes in turn, as user grains would.
//
//	go test -run '^$' -bench ReplicatedWrites -benchtime 20000x ./replication/
func BenchmarkReplicatedWrites(b *testing.B) {
	c := startCluster(b, "a", "b", "c")
	names := []string{"a", "b", "c"}

	const writers = 64
	leases := make([]persistence.Lease, writers)
	for i := range leases {
		leases[i], _ = activate(b, c.node(names[i%3]), userKey(i))
	}
	value := make([]byte, 256)

	var next atomic.Int64 // writes handed out so far, up to b.N
	var failed atomic.Pointer[error]
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, l := range leases {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := l.Write(context.Background(), value); err != nil {
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

// BenchmarkActivateCold measures one activation at a time of registers
// that hold a value but have no live lease, from a node that did not
// write them: Prepare on a quorum, then the write-back. It reports the
// median and 99th percentile.
//
//	go test -run '^$' -bench ActivateCold -benchtime 2000x ./replication/
func BenchmarkActivateCold(b *testing.B) {
	c := startCluster(b, "a", "b", "c")
	a, other := c.node("a"), c.node("b")
	value := make([]byte, 256)
	for i := range b.N {
		l, _ := activate(b, a, userKey(i))
		if err := l.Write(context.Background(), value); err != nil {
			b.Fatalf("Write: %v", err)
		}
	}

	took := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		_, got, err := other.regs.Activate(context.Background(), userKey(i))
		took[i] = time.Since(start)
		if err != nil || len(got) != len(value) {
			b.Fatalf("Activate %d = %d bytes, %v", i, len(got), err)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
}

func ms(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
