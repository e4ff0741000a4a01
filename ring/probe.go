package ring

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// HTTPProbe returns a HealthProbe that asks a node's REST /readyz. base
// maps a member to its REST base URL ("http://host:port"); "" means the
// address is unknown and the node counts as unreachable.
func HTTPProbe(client *http.Client, base func(MemberStatus) string) HealthProbe {
	return func(ctx context.Context, m MemberStatus) string {
		url := base(m)
		if url == "" {
			return ""
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			strings.TrimSuffix(url, "/")+"/readyz", nil)
		if err != nil {
			return ""
		}
		resp, err := client.Do(req)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()

		// /readyz answers {"status": "ready"} or, with 503, what is
		// missing.
		var body struct {
			Status string `json:"status"`
		}
		if json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body) != nil ||
			body.Status == "" {
			return resp.Status
		}
		if resp.StatusCode != http.StatusOK && body.Status == "ready" {
			return resp.Status
		}
		return body.Status
	}
}
