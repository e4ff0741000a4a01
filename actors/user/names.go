package user

import "sync"

// Names is a node's view of the display names (SPEC.md §8.1: push nickname,
// else user id) of the users whose grains run on it. Grains keep it
// current: they set their name on activation and on every stored change,
// and remove it when they stop, so it never holds more than the active
// grains. The fan-out reads it to name a message's sender without a
// request per message.
//
// TODO: a sender whose grain runs on another node is always asked; a
// cluster-wide cache needs invalidation across nodes (issue 4).
type Names struct {
	mu sync.RWMutex
	// names maps a grain identity to its user's display name.
	names map[string]string
}

// NewNames returns an empty cache.
func NewNames() *Names { return &Names{names: map[string]string{}} }

// Get returns the display name of user in appKey, if its grain is active
// on this node.
func (n *Names) Get(appKey, user string) (string, bool) {
	if n == nil {
		return "", false
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	name, ok := n.names[Identity(appKey, user)]
	return name, ok
}

func (n *Names) set(identity, user, nickname string) {
	if n == nil {
		return
	}
	name := nickname
	if name == "" {
		name = user
	}
	n.mu.Lock()
	n.names[identity] = name
	n.mu.Unlock()
}

func (n *Names) forget(identity string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	delete(n.names, identity)
	n.mu.Unlock()
}
