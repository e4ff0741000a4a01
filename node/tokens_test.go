package node

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-im/herald/actors/token"
	"github.com/herald-im/herald/messages"
)

// tokenApp starts a node with one app for the token ownership tests.
func tokenApp(t *testing.T) (*Node, *backend) {
	t.Helper()
	n := testNode(t, time.Minute)
	b := &backend{n: n}
	if _, err := b.CreateApp(ctx(t), "org", "app"); err != nil {
		t.Fatal(err)
	}
	return n, b
}

func bind(t *testing.T, b *backend, user, device, notifier, tok string) []*messages.Binding {
	t.Helper()
	reply, err := b.UserRequest(ctx(t), "org#app", user, &messages.PutBinding{
		DeviceId: device, DeviceToken: tok, NotifierName: notifier})
	if err != nil {
		t.Fatalf("bind %s/%s: %v", user, device, err)
	}
	r := reply.(*messages.BindingsReply)
	if r.Error != nil {
		t.Fatalf("bind %s/%s: %v", user, device, r.Error)
	}
	return r.Bindings
}

// held lists a user's bindings as "device notifier token" strings.
func held(t *testing.T, b *backend, user string) []string {
	t.Helper()
	reply, err := b.UserRequest(ctx(t), "org#app", user, &messages.GetBindings{})
	if err != nil || reply.(*messages.BindingsReply).Error != nil {
		t.Fatalf("bindings of %s: %v %v", user, reply, err)
	}
	var out []string
	for _, x := range reply.(*messages.BindingsReply).Bindings {
		out = append(out, x.DeviceId+" "+x.NotifierName+" "+x.DeviceToken)
	}
	return out
}

func owner(t *testing.T, n *Node, notifier, tok string) *messages.TokenOwner {
	t.Helper()
	o, err := token.NewClient(n.cluster, 5*time.Second).Owner(ctx(t), "org#app", notifier, tok)
	if err != nil {
		t.Fatalf("owner of %s: %v", tok, err)
	}
	return o
}

func same(got []string, want ...string) bool {
	return strings.Join(got, "|") == strings.Join(want, "|")
}

// TestNodeTokenMovesToOtherUser: giving alice's pair to bob deletes
// alice's binding (SPEC.md §4), also for a token too long to be a key.
func TestNodeTokenMovesToOtherUser(t *testing.T) {
	n, b := tokenApp(t)
	for _, tok := range []string{"tok-1", strings.Repeat("L", messages.MaxDeviceTokenBytes)} {
		bind(t, b, "alice", "a1", "fcm", tok)
		bind(t, b, "alice", "a1", "apns", tok) // another notifier: another pair
		if got := bind(t, b, "bob", "b1", "fcm", tok); len(got) != 1 || got[0].DeviceToken != tok {
			t.Fatalf("bob's bind answered %v, want his binding", got)
		}

		if got := held(t, b, "alice"); !same(got, "a1 apns "+tok) {
			t.Fatalf("alice holds %.80q after bob took fcm's pair, want only apns", got)
		}
		if got := held(t, b, "bob"); !same(got, "b1 fcm "+tok) {
			t.Fatalf("bob holds %.80q, want the pair", got)
		}
		if o := owner(t, n, "fcm", tok); o.GetUser() != "bob" || o.GetDeviceId() != "b1" {
			t.Fatalf("owner = %v, want bob/b1", o)
		}

		// Cleanup for the next token: both give everything up.
		bind(t, b, "alice", "a1", "", "")
		bind(t, b, "bob", "b1", "", "")
	}
}

// TestNodeTokenRebindOtherDevice: the same user binding its pair on
// another device moves it there, without asking itself anything.
func TestNodeTokenRebindOtherDevice(t *testing.T) {
	n, b := tokenApp(t)
	bind(t, b, "bob", "d1", "fcm", "T")
	bind(t, b, "bob", "d1", "apns", "U")
	if got := bind(t, b, "bob", "d2", "fcm", "T"); len(got) != 1 {
		t.Fatalf("bind on d2 answered %v", got)
	}
	if got := held(t, b, "bob"); !same(got, "d1 apns U", "d2 fcm T") {
		t.Fatalf("bob holds %q, want the pair moved to d2", got)
	}
	if o := owner(t, n, "fcm", "T"); o.GetUser() != "bob" || o.GetDeviceId() != "d2" {
		t.Fatalf("owner = %v, want bob/d2", o)
	}

	// Binding it again changes nothing and still answers the binding.
	if got := bind(t, b, "bob", "d2", "fcm", "T"); len(got) != 1 || got[0].DeviceToken != "T" {
		t.Fatalf("repeated bind answered %v", got)
	}
}

// TestNodeTokenDeleteReleases: deleting a binding, a device or replacing
// the token gives the pair up; a later claim then asks nobody.
func TestNodeTokenDeleteReleases(t *testing.T) {
	n, b := tokenApp(t)
	cases := []struct {
		name   string
		device string // of the change
		put    func()
	}{
		{"empty token", "d1", func() { bind(t, b, "bob", "d1", "fcm", "") }},
		{"empty notifier", "d1", func() { bind(t, b, "bob", "d1", "", "x") }},
		{"token replaced", "d1", func() { bind(t, b, "bob", "d1", "fcm", "other") }},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := fmt.Sprintf("T%d", i)
			bind(t, b, "bob", "d1", "fcm", tok)
			if o := owner(t, n, "fcm", tok); o.GetUser() != "bob" {
				t.Fatalf("owner after bind = %v", o)
			}
			c.put()
			waitOwner(t, n, "fcm", tok, "")

			// Alice takes the released pair; bob's other bindings stay.
			bind(t, b, "bob", "d3", "apns", tok)
			bind(t, b, "alice", "a1", "fcm", tok)
			if got := held(t, b, "bob"); !strings.Contains(strings.Join(got, "|"), "d3 apns "+tok) {
				t.Fatalf("bob lost his apns binding: %q", got)
			}
			bind(t, b, "bob", "d3", "", "")
			bind(t, b, "bob", "d1", "", "")
		})
	}
}

// waitOwner polls until the pair's owner is user ("" = nobody).
func waitOwner(t *testing.T, n *Node, notifier, tok, user string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o := owner(t, n, notifier, tok)
		if o.GetUser() == user {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("owner of %s is %v, want %q", tok, o, user)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNodeTokenConcurrentClaims: users binding one pair at once end with
// exactly one of them holding it, and the register names that one.
func TestNodeTokenConcurrentClaims(t *testing.T) {
	n, b := tokenApp(t)
	const users, rounds = 6, 8
	for r := range rounds {
		tok := fmt.Sprintf("race-%d", r)
		var wg sync.WaitGroup
		for u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reply, err := b.UserRequest(ctx(t), "org#app", fmt.Sprintf("u%d", u),
					&messages.PutBinding{DeviceId: "d", DeviceToken: tok, NotifierName: "fcm"})
				if err != nil || reply.(*messages.BindingsReply).Error != nil {
					t.Errorf("bind u%d: %v %v", u, reply, err)
				}
			}()
		}
		wg.Wait()

		var holders []string
		for u := range users {
			name := fmt.Sprintf("u%d", u)
			if slices.Contains(held(t, b, name), "d fcm "+tok) {
				holders = append(holders, name)
			}
		}
		o := owner(t, n, "fcm", tok)
		if len(holders) != 1 || o.GetUser() != holders[0] {
			t.Fatalf("round %d: holders %v, owner %v; want exactly the owner", r, holders, o)
		}
	}
}

// TestNodeTokenClaimRetry covers the crash window after the token grain
// recorded a new owner but before the old holder dropped the pair: the
// old holder keeps it meanwhile (still one holder), and the new owner's
// retried PUT finishes the move.
func TestNodeTokenClaimRetry(t *testing.T) {
	n, b := tokenApp(t)
	bind(t, b, "alice", "a1", "fcm", "T")

	// Bob's claim, as his grain would send it before crashing.
	reply, err := token.NewClient(n.cluster, 5*time.Second).Claim(ctx(t), "org#app",
		&messages.TokenClaim{NotifierName: "fcm", DeviceToken: "T", User: "bob",
			DeviceId: "b1"})
	if err != nil || !slices.Equal(reply.Release, []string{"alice"}) {
		t.Fatalf("claim = %v, %v; want alice to release", reply, err)
	}
	if got := held(t, b, "alice"); !same(got, "a1 fcm T") {
		t.Fatalf("alice holds %q before the retry, want the pair", got)
	}

	bind(t, b, "bob", "b1", "fcm", "T")
	if got := held(t, b, "alice"); len(got) != 0 {
		t.Fatalf("alice holds %q after bob's retry, want nothing", got)
	}
	if got := held(t, b, "bob"); !same(got, "b1 fcm T") {
		t.Fatalf("bob holds %q, want the pair", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(owner(t, n, "fcm", "T").GetStale()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("stale list never settled: %v", owner(t, n, "fcm", "T"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
