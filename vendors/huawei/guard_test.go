package huawei

import (
	"testing"
	"time"
)

func TestGuard(t *testing.T) {
	start := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		good, bad int
		spread    time.Duration // between observations
		want      bool
	}{
		{"few bad tokens", 0, guardMin - 1, time.Second, false},
		{"enough, a majority", 10, guardMin, time.Second, true},
		{"enough, not a majority", guardMin, guardMin, time.Second, false},
		{"old ones fall out of the window", 0, guardMin, 20 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g guard
			now := start
			for range tt.good {
				g.observe(now, false)
			}
			var got bool
			for range tt.bad {
				got = g.observe(now, true)
				now = now.Add(tt.spread)
			}
			if got != tt.want {
				t.Errorf("after %d good, %d bad: mismatch = %v, want %v",
					tt.good, tt.bad, got, tt.want)
			}
		})
	}
}
