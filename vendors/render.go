package vendors

import (
	"sync"

	"github.com/herald-im/herald/messages"
)

// WireRequest is a vendor request as it would go on the wire, for the dry
// run of POST /push/preview: nothing is sent and no auth token is fetched,
// so auth headers are left out.
type WireRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	// Body is the request body: JSON text for JSON vendors, the
	// form-encoded text for form vendors.
	Body []byte `json:"-"`
}

// Renderer builds the request a push of n to deviceToken through notifier
// would send. It is pure: no network, no clock, no auth.
type Renderer func(notifier *messages.Notifier, deviceToken string,
	n *messages.Notification) (*WireRequest, error)

var (
	renderersMu sync.RWMutex
	renderers   = map[string]Renderer{}
)

// RegisterRenderer makes r the renderer of provider; vendor packages call
// it from init next to Register.
func RegisterRenderer(provider string, r Renderer) {
	renderersMu.Lock()
	defer renderersMu.Unlock()
	renderers[provider] = r
}

// LookupRenderer returns the renderer of provider, if one is registered.
func LookupRenderer(provider string) (Renderer, bool) {
	renderersMu.RLock()
	defer renderersMu.RUnlock()
	r, ok := renderers[provider]
	return r, ok
}
