package api

import (
	"errors"
	"net/http"

	"github.com/herald-im/herald/stats"
)

// statisticsBucket is the rate-limit bucket of the statistics endpoint
// (§11.1).
const statisticsBucket = "statistics"

// statisticsAnswer is the §11.5 answer: the envelope plus "status":"OK".
type statisticsAnswer struct {
	*envelope
	Status string `json:"status"`
}

// handleStatistics answers GET /push/data/offline-push/begin/{begin}/end/{end}
// (§11.5). It applies the rate limit itself, after the feature check: a
// feature that is off is a permission (403), which §11.1 checks before the
// rate limit (429), so a refused request does not use up the window.
func handleStatistics(c *call) error {
	cfg := c.app.GetConfig()
	// A record without a config predates §11.6 and has the defaults, with
	// statistics on.
	if cfg != nil && !cfg.GetStatisticsEnabled() {
		return errForbidden()
	}
	if l := c.s.opts.Limiter; l != nil && !l.Allow(c.app, statisticsBucket) {
		return errRateLimited()
	}

	begin, end := c.params["begin"], c.params["end"]
	platform := c.r.URL.Query().Get("platform")
	loc := stats.Zone(cfg.GetDndTimezone())
	if _, err := stats.ParseQuery(begin, end, platform, loc); err != nil {
		return statisticsError(err)
	}

	report, err := c.s.opts.Backend.Statistics(c.ctx, c.appKey, begin, end, platform, loc)
	if err != nil {
		if errors.Is(err, stats.ErrInvalid) {
			return statisticsError(err)
		}
		return c.backendError(err)
	}
	env := c.envelope()
	env.Data = report
	c.writeJSON(http.StatusOK, statisticsAnswer{envelope: env, Status: "OK"})
	return nil
}

// statisticsError maps a query validation error onto the catalogue.
func statisticsError(err error) error {
	var fe *stats.FieldError
	if errors.As(err, &fe) {
		return errInvalid(fe.Field)
	}
	return err
}
