package events

import (
	"encoding/json"

	"github.com/herald-im/herald/messages"
)

// PayloadOf reports a rendered notification as the webhook's payload: its
// title, body, badge (0 when it carries none) and the custom keys f, t, m,
// g and e from its custom JSON (SPEC.md §7.3). Nil n gives nil: nothing
// was rendered. Custom JSON that does not parse leaves the keys empty.
func PayloadOf(n *messages.Notification) *Payload {
	if n == nil {
		return nil
	}
	p := &Payload{Title: n.GetTitle(), Content: n.GetBody()}
	if n.GetHasBadge() {
		p.Badge = n.GetBadge()
	}

	var custom struct {
		F, T, M, G string
		E          json.RawMessage
	}
	if err := json.Unmarshal(n.GetCustom(), &custom); err == nil {
		p.F, p.T, p.M, p.G = custom.F, custom.T, custom.M, custom.G
		if len(custom.E) > 0 && string(custom.E) != "null" {
			p.E = custom.E
		}
	}
	return p
}
