package ring

import (
	"fmt"
	"testing"
)

// Replicas runs on every register operation.
func BenchmarkReplicas(b *testing.B) {
	for _, size := range []int{3, 10, 50} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			v := View{Epoch: 1, Nodes: nodeRange(size)}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				v.Replicas("user/org#app/user-12345")
			}
		})
	}
}
