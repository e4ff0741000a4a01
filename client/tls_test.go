package client

import (
	"context"
	"errors"
	"testing"
	"time"

	hcluster "github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/cluster/tlstest"
)

// A client with a certificate from the nodes' CA pushes over mutual TLS;
// a client without TLS, or with another CA's certificate, joins gossip
// but gets no answer.
func TestClientRemoteTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "client-test-ca")
	script := &ingestScript{answer: answered}
	a := startMemberTLS(t, "a", script, hcluster.RemoteTLS(ca.Issue(t, "a")))
	seed := a.provider.GossipAddr()

	dial := func(tls hcluster.RemoteTLS) *Client {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := New(ctx, Config{Seeds: []string{seed}, Timeout: 2 * time.Second,
			Retries: -1, RemoteTLS: tls, Logger: testLogger(t)})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	good := dial(hcluster.RemoteTLS(ca.Issue(t, "client")))
	res, err := good.Push(context.Background(), chatMessage("m-tls"))
	if err != nil || res.GetPushed() != 1 {
		t.Fatalf("Push over TLS = %v, %v; want pushed", res, err)
	}

	rogue := tlstest.NewCA(t, "rogue-ca").Issue(t, "rogue")
	for name, tls := range map[string]hcluster.RemoteTLS{
		"no tls": {}, "other ca": hcluster.RemoteTLS(rogue),
	} {
		c := dial(tls)
		if _, err := c.Push(context.Background(), chatMessage("m-"+name)); !errors.Is(err,
			ErrUnavailable) {
			t.Errorf("%s: Push err = %v, want ErrUnavailable", name, err)
		}
	}
	got := len(script.attemptsFor("m-no tls")) + len(script.attemptsFor("m-other ca"))
	if got != 0 {
		t.Errorf("the node received %d pushes from clients without its CA", got)
	}

	bad := Config{Seeds: []string{seed}, RemoteTLS: hcluster.RemoteTLS{CAFile: "ca.pem"}}
	if _, err := New(context.Background(), bad); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New with half a TLS config: err = %v, want ErrInvalidConfig", err)
	}
}
