package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
)

// metaVersion is bumped when nodeMeta changes shape incompatibly; a node
// ignores peers whose meta carries another version rather than guessing.
const metaVersion = 1

// maxMetaSize is memberlist's limit on node meta (memberlist.MetaMaxSize).
// The delegate would panic on a larger value, so encodeMeta refuses first.
const maxMetaSize = 512

// ErrMetaTooLarge reports that a node's meta (member id, address, kinds)
// does not fit in memberlist's 512-byte meta field.
var ErrMetaTooLarge = errors.New("node meta exceeds 512 bytes")

// nodeMeta is what every node gossips about itself in memberlist's node
// meta: enough for a peer to address it through Proto.Actor remote and to
// know whether it may place grains there. Field names are one letter
// because the whole value must stay within 512 bytes.
type nodeMeta struct {
	Version  int      `json:"v"`
	MemberID string   `json:"id"`
	Host     string   `json:"h"`
	Port     int      `json:"p"`
	Kinds    []string `json:"k,omitempty"`
	Client   bool     `json:"c,omitempty"`
	// HTTP is the node's REST address (host:port), so operators' tools and
	// peers can reach its health endpoints; "" for clients.
	HTTP string `json:"w,omitempty"`
}

// encodeMeta renders m for memberlist.
func encodeMeta(m nodeMeta) ([]byte, error) {
	m.Version = metaVersion
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode node meta: %w", err)
	}
	if len(b) > maxMetaSize {
		return nil, fmt.Errorf("encode node meta (%d bytes): %w", len(b), ErrMetaTooLarge)
	}
	return b, nil
}

// decodeMeta parses a peer's meta. Empty meta belongs to a node whose
// actor system has not started yet; it is an error so that callers leave
// such a node out of the topology until its meta arrives.
func decodeMeta(b []byte) (nodeMeta, error) {
	var m nodeMeta
	if len(b) == 0 {
		return m, errors.New("decode node meta: empty")
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("decode node meta: %w", err)
	}
	if m.Version != metaVersion {
		return m, fmt.Errorf("decode node meta: version %d, want %d", m.Version, metaVersion)
	}
	if m.MemberID == "" || m.Host == "" || m.Port <= 0 || m.Port > 65535 {
		return m, errors.New("decode node meta: missing member id, host or port")
	}
	if m.Client && len(m.Kinds) > 0 {
		return m, errors.New("decode node meta: a client must not have kinds")
	}
	return m, nil
}
