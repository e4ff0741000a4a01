package vendorsim

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/certificate"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"
)

// pointAPNs2 makes an apns2 client trust only the simulator and send to it.
func pointAPNs2(t *testing.T, sim *Sim, client *apns2.Client) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(sim.CAPEM()) {
		t.Fatal("CAPEM holds no certificate")
	}
	tr := client.HTTPClient.Transport.(*http2.Transport)
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{}
	}
	tr.TLSClientConfig.RootCAs = pool
	t.Cleanup(tr.CloseIdleConnections)
	client.Host = sim.Endpoint(VendorAPNs)
}

func TestAPNs2TokenClient(t *testing.T) {
	sim, creds := startSim(t)
	key, err := token.AuthKeyFromBytes(creds.APNs.P8PEM)
	if err != nil {
		t.Fatalf("AuthKeyFromBytes: %v", err)
	}
	client := apns2.NewTokenClient(&token.Token{
		AuthKey: key, KeyID: creds.APNs.KeyID, TeamID: creds.APNs.TeamID,
	})
	pointAPNs2(t, sim, client)

	res, err := client.Push(&apns2.Notification{
		DeviceToken: goodToken,
		Topic:       creds.APNs.BundleID,
		Payload:     []byte(goodAlert),
	})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if !res.Sent() || res.ApnsID == "" {
		t.Fatalf("Push = %d %q id %q, want sent with an apns-id", res.StatusCode, res.Reason, res.ApnsID)
	}

	res, err = client.Push(&apns2.Notification{
		DeviceToken: "dead0001", Topic: creds.APNs.BundleID, Payload: []byte(goodAlert),
	})
	if err != nil {
		t.Fatalf("Push dead: %v", err)
	}
	if res.StatusCode != 410 || res.Reason != apns2.ReasonUnregistered || res.Timestamp.IsZero() {
		t.Fatalf("Push dead = %d %q ts %v, want 410 Unregistered with a timestamp",
			res.StatusCode, res.Reason, res.Timestamp)
	}
}

func TestAPNs2CertificateClient(t *testing.T) {
	sim, creds := startSim(t)
	p12, err := os.ReadFile(creds.APNs.P12File)
	if err != nil {
		t.Fatalf("read p12: %v", err)
	}
	cert, err := certificate.FromP12Bytes(p12, creds.APNs.P12Password)
	if err != nil {
		t.Fatalf("FromP12Bytes: %v", err)
	}
	client := apns2.NewClient(cert)
	pointAPNs2(t, sim, client)

	res, err := client.Push(&apns2.Notification{
		DeviceToken: goodToken,
		Topic:       creds.APNs.BundleID,
		Payload:     []byte(goodAlert),
	})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if !res.Sent() {
		t.Fatalf("Push = %d %q, want 200", res.StatusCode, res.Reason)
	}
	r := waitOne(t, sim, Filter{Token: goodToken})
	if r.Auth.Scheme != "cert" || r.Auth.Subject != creds.APNs.BundleID {
		t.Errorf("record auth = %+v, want cert %s", r.Auth, creds.APNs.BundleID)
	}
}
