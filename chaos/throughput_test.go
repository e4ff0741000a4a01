package chaos

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// Cluster-wide push throughput of three nodes against one node's, in the
// same run, through package client against vendorsim. Run with
//
//	HERALD_CHAOS_BENCH=1 go test -run TestPushThroughput -v -timeout 15m ./chaos/
func TestPushThroughput(t *testing.T) {
	if os.Getenv("HERALD_CHAOS_BENCH") == "" {
		t.Skip("set HERALD_CHAOS_BENCH=1 to measure push throughput")
	}
	s := startSim(t)
	measure := func(nodes int) runSummary {
		c := newCluster(t, s)
		for i := range nodes {
			c.add(fmt.Sprintf("tp%d-node-%d", nodes, i+1))
		}
		c.launchAll()
		c.waitSettled(c.nodes, 2*time.Minute)
		b := startBench(t, c, c.nodes, load{users: 2000, duration: 30 * time.Second,
			pushers: 128, workers: 32})
		sum := b.finish(t)
		c.stopAll()
		if sum.Pushed == 0 {
			t.Fatalf("%d node(s): nothing pushed", nodes)
		}
		return sum
	}
	one := measure(1)
	three := measure(3)
	t.Logf("push throughput through client/: 1 node %.0f/s (%d pushed in %.1f s), "+
		"3 nodes %.0f/s (%d pushed in %.1f s), ratio %.2f", one.PushesPerSec, one.Pushed,
		one.Seconds, three.PushesPerSec, three.Pushed, three.Seconds,
		three.PushesPerSec/one.PushesPerSec)
}
