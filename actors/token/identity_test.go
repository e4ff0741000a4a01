package token

import (
	"strings"
	"testing"

	"github.com/herald-im/herald/persistence"
)

// TestTokenIdentity checks that identities are readable for ordinary
// pairs, short for long tokens, unambiguous, and map to the register key.
func TestTokenIdentity(t *testing.T) {
	long := strings.Repeat("a", MaxRawToken+1)
	cases := []struct {
		name, notifier, token, want string
	}{
		{"plain", "fcm-1", "tok/with/slashes", "o#a/fcm-1/tok/with/slashes"},
		{"longest raw token", "fcm", long[:MaxRawToken], "o#a/fcm/" + long[:MaxRawToken]},
		{"long token hashed", "fcm", long, "o#a/fcm/" + hashed(long)},
		{"notifier with slash hashed", "a/b", "c", "o#a/" + hashed("a/b") + "/c"},
		{"raw part that looks hashed is hashed", "fcm", "sha256:x",
			"o#a/fcm/" + hashed("sha256:x")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := Identity("o#a", c.notifier, c.token)
			if id != c.want {
				t.Fatalf("Identity = %q, want %q", id, c.want)
			}
			key, app, ok := registerKey(id)
			if !ok || app != "o#a" || key != "token/"+id {
				t.Fatalf("registerKey(%q) = %q %q %v", id, key, app, ok)
			}
			if len(key) > 600 {
				t.Fatalf("register key is %d bytes", len(key))
			}
		})
	}

	// Notifier "a/b" with token "c" must not meet notifier "a" with "b/c".
	if Identity("o#a", "a/b", "c") == Identity("o#a", "a", "b/c") {
		t.Fatal("two pairs share an identity")
	}
	if got := persistence.TokenKey("o#a", "fcm", "T"); got != "token/"+Identity("o#a", "fcm", "T") {
		t.Fatalf("identity and TokenKey disagree: %q", got)
	}
	for _, bad := range []string{"", "o#a", "o#a/fcm", "o#a/fcm/", "/fcm/T"} {
		if _, _, ok := registerKey(bad); ok {
			t.Errorf("registerKey(%q) accepted a bad identity", bad)
		}
	}
}
