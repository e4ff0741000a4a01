package bench

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"testing"
	"time"

	"github.com/herald-im/herald/vendorsim"
	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"
)

func deviceToken(i int) string { return fmt.Sprintf("%064x", i+1) }

// BenchmarkAPNs pushes b.N notifications to vendorsim's APNs emulator, with
// a bare sideshow/apns2 client and through a Herald node, and reports
// pushes/s and CPU seconds per 100k pushes for each.
func BenchmarkAPNs(b *testing.B) {
	s := newStack(b, "bench-apns")
	s.notifier(b, "apns", map[string]any{"environment": "development"})
	s.bind(b, "apns", deviceToken)
	b.Run("bare-apns2", func(b *testing.B) { bareAPNs2(b, s) })
	b.Run("herald", s.herald)
}

// bareAPNs2 is the reference: sideshow/apns2 with token auth, pushing the
// payload Herald renders for the benchmark's message.
func bareAPNs2(b *testing.B, s *stack) {
	a := s.creds.APNs
	key, err := token.AuthKeyFromBytes(a.P8PEM)
	if err != nil {
		b.Fatal(err)
	}
	client := apns2.NewTokenClient(&token.Token{AuthKey: key, KeyID: a.KeyID, TeamID: a.TeamID})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.sim.CAPEM())
	client.HTTPClient.Transport = &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	client.Host = s.sim.Endpoint("apns")
	payload := []byte(`{"aps":{"alert":{"title":"您有一条新消息","body":"请点击查看"},` +
		`"badge":1,"sound":"default"},"f":"alice","t":"bob","m":"m1"}`)

	run(b, func(i int) error {
		res, err := client.Push(&apns2.Notification{DeviceToken: deviceToken(i % users),
			Topic: a.BundleID, Payload: payload, CollapseID: fmt.Sprint(i)})
		if err != nil {
			return err
		}
		if res.StatusCode != 200 {
			return fmt.Errorf("apns answered %d %s", res.StatusCode, res.Reason)
		}
		return nil
	})
}

// BenchmarkAPNsLatency is BenchmarkAPNs with vendorsim answering after a
// fixed 20 ms, closer to a real vendor across a network: the rate is then
// set by how many pushes each side keeps in flight, not by CPU.
func BenchmarkAPNsLatency(b *testing.B) {
	s := newStack(b, "bench-apns-latency")
	s.notifier(b, "apns", map[string]any{"environment": "development"})
	s.bind(b, "apns", deviceToken)
	err := s.sim.SetFaults(vendorsim.FaultSet{Global: vendorsim.Faults{
		Latency: vendorsim.Latency{Kind: vendorsim.LatencyFixed,
			P50: vendorsim.Duration(20 * time.Millisecond)}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("bare-apns2", func(b *testing.B) { bareAPNs2(b, s) })
	b.Run("herald", s.herald)
}
