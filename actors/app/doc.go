// Package app is the app grain: one virtual actor per app (kind "app",
// identity the appkey "org#app") that owns the app's register: its
// credentials, notifiers, templates and push config.
//
// Every node keeps the current record of each app it has used in a Cache,
// so the hot path (a user grain deciding a push, the REST layer checking a
// token) reads app state without a message. The grain publishes each
// acknowledged change to its node's cache; records in the cache are
// immutable snapshots and must never be modified by readers.
package app
