package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herald-im/herald/messages"
)

func chatMessage(id string) *messages.PushMessage {
	return &messages.PushMessage{
		AppKey: "org#app", MsgId: id, From: "bob", ChatType: "chat",
		To: []string{"alice"}, Body: &messages.Body{Type: "txt", Text: "hi"},
	}
}

// newClient joins the test cluster with a short per-attempt timeout.
func newClient(t *testing.T, seed string, timeout time.Duration, retries int) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := New(ctx, Config{
		Seeds: []string{seed}, Timeout: timeout, Retries: retries, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitMembers waits until c routes to n members.
func waitMembers(t *testing.T, c *Client, n int) {
	waitFor(t, 10*time.Second, fmt.Sprintf("client seeing %d members", n), func() bool {
		cn, err := c.conn()
		return err == nil && cn != nil && len(cn.memberAddrs()) == n
	})
}

// Two members with scripted ingest actors; one client script per subtest.
func TestClient(t *testing.T) {
	script := &ingestScript{answer: answered}
	a := startMember(t, "a", script)
	seed := a.provider.GossipAddr()
	startMember(t, "b", script, seed)
	ctx := context.Background()

	t.Run("push answered at once", func(t *testing.T) {
		c := newClient(t, seed, 5*time.Second, 3)
		res, err := c.Push(ctx, chatMessage("m-ok"))
		if err != nil || res.GetMsgId() != "m-ok" || res.GetPushed() != 1 {
			t.Fatalf("Push(m-ok) = %v, %v; want pushed result", res, err)
		}
		if got := len(script.attemptsFor("m-ok")); got != 1 {
			t.Errorf("ingest saw %d attempts of m-ok, want 1", got)
		}
	})

	t.Run("unanswered push is resubmitted to another node", func(t *testing.T) {
		script.setAnswer(func(m *messages.PushMessage, n int) *messages.PushResult {
			if m.GetMsgId() == "m-drop" && n == 0 {
				return nil
			}
			return answered(m, n)
		})
		defer script.setAnswer(answered)
		c := newClient(t, seed, 500*time.Millisecond, 3)
		waitMembers(t, c, 2)

		res, err := c.Push(ctx, chatMessage("m-drop"))
		if err != nil || res.GetMsgId() != "m-drop" {
			t.Fatalf("Push(m-drop) = %v, %v; want a result", res, err)
		}
		got := script.attemptsFor("m-drop")
		if len(got) != 2 {
			t.Fatalf("ingest saw %d attempts of m-drop, want 2: %v", len(got), got)
		}
		if got[0].node == got[1].node {
			t.Errorf("both attempts went to node %s, want the resubmission elsewhere",
				got[0].node)
		}
	})

	t.Run("unavailable answer is resubmitted", func(t *testing.T) {
		script.setAnswer(func(m *messages.PushMessage, n int) *messages.PushResult {
			if n == 0 {
				return &messages.PushResult{MsgId: m.GetMsgId(),
					Error: &messages.Error{Code: messages.CodeUnavailable}}
			}
			return answered(m, n)
		})
		defer script.setAnswer(answered)
		c := newClient(t, seed, 5*time.Second, 3)

		res, err := c.Push(ctx, chatMessage("m-unavail"))
		if err != nil || res.GetError() != nil {
			t.Fatalf("Push(m-unavail) = %v, %v; want a clean result", res, err)
		}
		if got := len(script.attemptsFor("m-unavail")); got != 2 {
			t.Errorf("ingest saw %d attempts of m-unavail, want 2", got)
		}
	})

	t.Run("gives up after the retries", func(t *testing.T) {
		script.setAnswer(func(m *messages.PushMessage, n int) *messages.PushResult {
			if m.GetMsgId() == "m-lost" {
				return nil
			}
			return answered(m, n)
		})
		defer script.setAnswer(answered)
		c := newClient(t, seed, 200*time.Millisecond, 2)

		res, err := c.Push(ctx, chatMessage("m-lost"))
		if !errors.Is(err, ErrUnavailable) || res != nil {
			t.Fatalf("Push(m-lost) = %v, %v; want nil, ErrUnavailable", res, err)
		}
		if got := len(script.attemptsFor("m-lost")); got != 3 {
			t.Errorf("ingest saw %d attempts of m-lost, want 3 (1 + 2 retries)", got)
		}
	})

	t.Run("node refusal is returned, not retried", func(t *testing.T) {
		script.setAnswer(func(m *messages.PushMessage, n int) *messages.PushResult {
			return &messages.PushResult{MsgId: m.GetMsgId(),
				Error: messages.InvalidField("from")}
		})
		defer script.setAnswer(answered)
		c := newClient(t, seed, 5*time.Second, 3)

		res, err := c.Push(ctx, chatMessage("m-refused"))
		var re *RemoteError
		if !errors.As(err, &re) || re.Code != messages.CodeIllegalArgument || re.Field != "from" {
			t.Fatalf("Push(m-refused) error = %v, want RemoteError illegal_argument from", err)
		}
		if res.GetMsgId() != "m-refused" {
			t.Errorf("Push(m-refused) result = %v, want the node's answer", res)
		}
		if got := len(script.attemptsFor("m-refused")); got != 1 {
			t.Errorf("ingest saw %d attempts of m-refused, want 1", got)
		}
	})

	t.Run("invalid input is rejected without sending", func(t *testing.T) {
		c := newClient(t, seed, 5*time.Second, 3)
		before := script.total()
		tests := []struct {
			name  string
			edit  func(*messages.PushMessage)
			field string
		}{
			{"no msg_id", func(m *messages.PushMessage) { m.MsgId = "" }, "msg_id"},
			{"no app_key", func(m *messages.PushMessage) { m.AppKey = "" }, "app_key"},
			{"app_key without app", func(m *messages.PushMessage) { m.AppKey = "org#" },
				"app_key"},
			{"long msg_id", func(m *messages.PushMessage) {
				m.MsgId = string(make([]byte, 65))
			}, "msg_id"},
			{"no recipient", func(m *messages.PushMessage) { m.To = nil }, "to"},
		}
		for _, tt := range tests {
			m := chatMessage("m-bad")
			tt.edit(m)
			_, err := c.Push(ctx, m)
			var ie *InputError
			if !errors.Is(err, ErrInvalidInput) || !errors.As(err, &ie) || ie.Field != tt.field {
				t.Errorf("%s: Push error = %v, want InputError on %s", tt.name, err, tt.field)
			}
		}
		if _, err := c.Push(ctx, nil); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("Push(nil) = %v, want ErrInvalidInput", err)
		}
		_, err := c.Presence(ctx, &messages.PresenceEvent{AppKey: "org#app", User: "u"})
		if !errors.Is(err, ErrInvalidInput) {
			t.Errorf("Presence(no device) = %v, want ErrInvalidInput", err)
		}
		if got := script.total(); got != before {
			t.Errorf("ingest saw %d new attempts, want 0", got-before)
		}
	})

	t.Run("presence reaches the user grain", func(t *testing.T) {
		c := newClient(t, seed, 5*time.Second, 3)
		ev := &messages.PresenceEvent{AppKey: "org#app", User: "Alice", DeviceId: "d1",
			State: messages.PresenceState_PRESENCE_OFFLINE, Timestamp: 5}
		res, err := c.Presence(ctx, ev)
		if err != nil || res.GetDeviceId() != "d1" || res.GetOfflineMsgCount() != 3 ||
			res.GetState() != messages.PresenceState_PRESENCE_OFFLINE {
			t.Fatalf("Presence = %v, %v; want the grain's reply for d1", res, err)
		}
		script.mu.Lock()
		got := script.presence[len(script.presence)-1]
		script.mu.Unlock()
		if got.GetUser() != "alice" || got.GetAppKey() != "org#app" {
			t.Errorf("grain got user %q app %q, want alice, org#app", got.GetUser(), got.GetAppKey())
		}
		if ev.GetUser() != "Alice" {
			t.Errorf("Presence modified its input: user = %q", ev.GetUser())
		}
	})

	t.Run("reconnects after blocking a live member", func(t *testing.T) {
		c := newClient(t, seed, 5*time.Second, 3)
		waitMembers(t, c, 2)
		old, _ := c.conn()
		old.cluster.Remote.BlockList().Block(a.system.ID)
		waitFor(t, 10*time.Second, "a new connection", func() bool {
			cn, err := c.conn()
			return err == nil && cn != nil && cn != old && len(cn.memberAddrs()) == 2
		})
		if _, err := c.Push(ctx, chatMessage("m-after-reconnect")); err != nil {
			t.Fatalf("Push after reconnect: %v", err)
		}
	})

	t.Run("closed client refuses", func(t *testing.T) {
		c := newClient(t, seed, 5*time.Second, 3)
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := c.Push(ctx, chatMessage("m-closed")); !errors.Is(err, ErrClosed) {
			t.Errorf("Push after Close = %v, want ErrClosed", err)
		}
	})
}

func TestClientNewWithoutReachableSeed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := New(ctx, Config{Seeds: []string{"127.0.0.1:1"}, Logger: testLogger(t)})
	if !errors.Is(err, ErrNoMembers) {
		t.Fatalf("New(unreachable seed) = %v, want ErrNoMembers", err)
	}
}

func TestClientConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{Seeds: []string{"10.0.0.1:7946"}}, true},
		{"no seeds", Config{}, false},
		{"bad seed", Config{Seeds: []string{"node"}}, false},
		{"bad remote", Config{Seeds: []string{"a:1"}, RemoteAddr: "x:y"}, false},
		{"negative timeout", Config{Seeds: []string{"a:1"}, Timeout: -time.Second}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.withDefaults().validate()
		if tt.ok != (err == nil) || (!tt.ok && !errors.Is(err, ErrInvalidConfig)) {
			t.Errorf("%s: validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	_, err := New(context.Background(), Config{Seeds: []string{"a:1"}, GossipAddr: "host:1"})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New(hostname gossip bind) = %v, want ErrInvalidConfig", err)
	}

	d := Config{Retries: -1}.withDefaults()
	if d.Retries != 0 || d.Timeout != DefaultTimeout || d.ClusterName != "herald" {
		t.Errorf("withDefaults() = %+v, want no retries, 30 s, herald", d)
	}
}
