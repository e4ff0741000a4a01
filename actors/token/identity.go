package token

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/herald-im/herald/persistence"
)

// Kind is the cluster kind of the token grain.
const Kind = "token"

// MaxRawToken is the longest device token kept as is in an identity;
// longer ones are hashed so that register keys stay short.
const MaxRawToken = 256

// maxRawNotifier is the longest notifier name kept as is.
const maxRawNotifier = 128

// hashPrefix marks a hashed part. A raw part never starts with it: such a
// part is hashed too, so a raw and a hashed part never collide.
const hashPrefix = "sha256:"

// Identity returns the grain identity of (notifier, token) in appKey.
func Identity(appKey, notifier, token string) string {
	n := notifier
	if len(n) > maxRawNotifier || strings.ContainsRune(n, '/') ||
		strings.HasPrefix(n, hashPrefix) {
		n = hashed(n)
	}
	t := token
	if len(t) > MaxRawToken || strings.HasPrefix(t, hashPrefix) {
		t = hashed(t)
	}
	return appKey + "/" + n + "/" + t
}

func hashed(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// registerKey returns the register key and appkey of a grain identity.
// Appkeys and notifier parts never contain '/'; the token part may.
func registerKey(identity string) (key, appKey string, ok bool) {
	appKey, rest, ok := strings.Cut(identity, "/")
	if !ok || appKey == "" {
		return "", "", false
	}
	notifier, token, ok := strings.Cut(rest, "/")
	if !ok || notifier == "" || token == "" {
		return "", "", false
	}
	return persistence.TokenKey(appKey, notifier, token), appKey, true
}
