package vendors

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)

func TestPacerInFlightCapFollowsStreams(t *testing.T) {
	p := NewPacer(PaceConfig{MaxInFlight: 256}, t0)
	tests := []struct {
		streams, want int
	}{
		{0, 256}, {2, 2}, {1000, 256}, {256, 256}, {1, 1},
	}
	for _, tt := range tests {
		p.SetStreams(tt.streams)
		if got := p.InFlightCap(); got != tt.want {
			t.Errorf("InFlightCap() with %d streams = %d, want %d", tt.streams, got, tt.want)
		}
	}
}

func TestPacerThrottleHalvesAndRecovers(t *testing.T) {
	p := NewPacer(PaceConfig{MaxInFlight: 100, Rate: 40}, t0)
	p.Throttled(t0)
	if p.InFlightCap() != 50 || p.Rate() != 20 {
		t.Fatalf("after a throttle cap %d rate %v, want 50, 20", p.InFlightCap(), p.Rate())
	}
	for range 10 {
		p.Throttled(t0)
	}
	if p.InFlightCap() != 1 || p.Rate() != 1 {
		t.Fatalf("after many throttles cap %d rate %v, want floor 1, 1",
			p.InFlightCap(), p.Rate())
	}

	// One millisecond short of a calm period: nothing grows.
	p.Take(t0.Add(PaceRecoverEvery - time.Millisecond))
	if p.InFlightCap() != 1 {
		t.Fatalf("cap grew before %v: %d", PaceRecoverEvery, p.InFlightCap())
	}
	p.Take(t0.Add(PaceRecoverEvery))
	if p.InFlightCap() != 2 || p.Rate() != 2 {
		t.Fatalf("after one calm period cap %d rate %v, want 2, 2", p.InFlightCap(), p.Rate())
	}

	// Long calm: both back at the configured values, not beyond.
	p.Take(t0.Add(time.Hour))
	if p.InFlightCap() != 100 || p.Rate() != 40 {
		t.Fatalf("after an hour cap %d rate %v, want 100, 40", p.InFlightCap(), p.Rate())
	}
}

func TestPacerGrowsTenPercent(t *testing.T) {
	p := NewPacer(PaceConfig{MaxInFlight: 1000}, t0)
	p.Throttled(t0) // 500
	p.Take(t0.Add(PaceRecoverEvery))
	if got := p.InFlightCap(); got != 550 {
		t.Fatalf("cap after one calm period = %d, want 550", got)
	}
}

func TestPacerBucket(t *testing.T) {
	p := NewPacer(PaceConfig{MaxInFlight: 10, Rate: 2}, t0)
	if d := p.Take(t0); d != 0 {
		t.Fatalf("first Take = %v, want 0", d)
	}
	if d := p.Take(t0); d != 0 {
		t.Fatalf("second Take (burst 2) = %v, want 0", d)
	}
	if d := p.Take(t0); d != 500*time.Millisecond {
		t.Fatalf("third Take = %v, want 500ms", d)
	}
	if d := p.Take(t0.Add(500 * time.Millisecond)); d != 0 {
		t.Fatalf("Take after 500ms = %v, want 0", d)
	}
}

func TestPacerUnpacedUntilThrottled(t *testing.T) {
	p := NewPacer(PaceConfig{MaxInFlight: 10}, t0)
	for i := range 300 {
		if d := p.Take(t0.Add(time.Duration(i) * time.Millisecond)); d != 0 {
			t.Fatalf("unpaced Take %d = %v, want 0", i, d)
		}
	}
	// 300 starts in the last second: the bucket starts at half of that.
	p.Throttled(t0.Add(300 * time.Millisecond))
	if p.Rate() != 150 {
		t.Fatalf("rate after the first throttle = %v, want 150", p.Rate())
	}
	p.Take(t0.Add(time.Hour))
	if p.Rate() != 0 {
		t.Fatalf("rate after an hour calm = %v, want 0 (unpaced)", p.Rate())
	}
}
