package persistence

// Prefixes of the Pebble keys; see the package comment for the layout.
const (
	metaLayoutKey = "meta/layout"
	registerSpace = "reg/"
	softSpace     = "soft/"
)

// layoutVersion is the version of the key layout written under
// metaLayoutKey. Bump it when an incompatible change is made.
const layoutVersion = 1

// UserKey is the register key of a user grain's state. appKey is "org#app"
// and user the lower-cased user id. UserKey(appKey, "") is the prefix of all
// the app's users, for Scan.
func UserKey(appKey, user string) string {
	return "user/" + appKey + "/" + user
}

// UserSoftKey is the soft-state key of a user: badge counters and recent
// message ids, which may lag by about a SoftSyncInterval after a crash.
func UserSoftKey(appKey, user string) string {
	return "user/" + appKey + "/" + user
}

// AppKey is the register key of an app grain's state. AppKey("") is the
// prefix of every app.
func AppKey(appKey string) string {
	return "app/" + appKey
}

// TokenKey is the register key that records which user owns a device token
// of one notifier. The token goes last so that it may contain any byte.
func TokenKey(appKey, notifier, token string) string {
	return "token/" + appKey + "/" + notifier + "/" + token
}

func registerPebbleKey(key string) []byte {
	return []byte(registerSpace + key)
}

func softPebbleKey(key string) []byte {
	return []byte(softSpace + key)
}
