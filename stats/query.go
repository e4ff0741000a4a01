// Package stats counts push outcomes per app and platform for the
// statistics endpoint (SPEC.md §11.5).
//
// A Recorder is an events.Sink that counts the events marked Counted
// (step-15 outcomes and step-14 stops): success as successCount, fail and
// error as failCount, split into APNS and ANDROID by the notifier's
// provider. Counts are kept in 15-minute buckets of UTC time, aggregated
// in memory and added to the node's Pebble store as soft state once a
// second and on Close: best effort, a crash loses at most the last second
// (DESIGN.md, "statistics: node-local Pebble, merged on read"). Query
// sums buckets into days of any time zone, so the app's dnd_timezone is
// applied when reading and a change of it applies to past days too; all
// time zones in use have offsets in whole quarter hours.
//
// The store holds one key per (app, platform, bucket):
//
//	"stats/<appkey>/<platform>/<bucket>" → uvarint success, uvarint fail
//
// where bucket is the bucket's start in Unix seconds / 900, as ten
// zero-padded decimal digits so that key order is time order. Callers run
// at most one Recorder per Store: flushing reads and rewrites counters.
package stats

import (
	"errors"
	"fmt"
	"time"

	"github.com/herald-im/herald/events"
)

// DayLayout is the day format of queries and answers (yyyy-MM-dd).
const DayLayout = "2006-01-02"

// MaxDays is the longest range one query may span, both ends included.
const MaxDays = 31

// Platform selectors of a query.
const (
	PlatformAll     = "ALL"
	PlatformAPNs    = events.PlatformAPNs
	PlatformAndroid = events.PlatformAndroid
)

// ErrInvalid is matched (errors.Is) by every query validation error.
var ErrInvalid = errors.New("invalid statistics query")

// FieldError names the query parameter that is invalid: "begin", "end"
// or "platform".
type FieldError struct{ Field string }

func (e *FieldError) Error() string { return "parameters is invalid : " + e.Field }

// Is makes a FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Counts are one day's counters of one platform, as answered (§11.5).
type Counts struct {
	SuccessCount int64 `json:"successCount"`
	FailCount    int64 `json:"failCount"`
	// ArriveCount is always 0: Herald learns nothing about arrival.
	ArriveCount int64 `json:"arriveCount"`
}

// Report maps each day of a query (DayLayout) to the counts of each
// platform asked for.
type Report map[string]map[string]Counts

// Range is a validated query: the local midnights of its first and last
// day and the platforms asked for.
type Range struct {
	First, Last time.Time
	Platforms   []string
}

// ParseQuery validates the parameters of a statistics query: begin and
// end are days in loc, begin <= end and at most MaxDays apart (inclusive);
// platform is "" (ALL), ALL, APNS or ANDROID. Errors are *FieldError:
// a malformed begin or a begin after end name "begin", a malformed end or
// a range over MaxDays names "end".
func ParseQuery(begin, end, platform string, loc *time.Location) (Range, error) {
	var r Range
	if loc == nil {
		return r, errors.New("parse statistics query: no time zone")
	}
	first, err := time.ParseInLocation(DayLayout, begin, loc)
	if err != nil {
		return r, &FieldError{"begin"}
	}
	last, err := time.ParseInLocation(DayLayout, end, loc)
	if err != nil {
		return r, &FieldError{"end"}
	}
	switch days := daysBetween(first, last) + 1; {
	case days < 1:
		return r, &FieldError{"begin"}
	case days > MaxDays:
		return r, &FieldError{"end"}
	}

	switch platform {
	case "", PlatformAll:
		r.Platforms = []string{PlatformAPNs, PlatformAndroid}
	case PlatformAPNs, PlatformAndroid:
		r.Platforms = []string{platform}
	default:
		return r, &FieldError{"platform"}
	}
	r.First, r.Last = first, last
	return r, nil
}

// daysBetween counts calendar days from a to b (both local midnights).
// It compares dates, not durations, so a daylight-saving day of 23 or 25
// hours counts as one.
func daysBetween(a, b time.Time) int {
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da) / (24 * time.Hour))
}

// Days lists the days of r in order, in DayLayout.
func (r Range) Days() []string {
	var out []string
	for d := r.First; !d.After(r.Last); d = nextDay(d) {
		out = append(out, d.Format(DayLayout))
	}
	return out
}

// nextDay is the local midnight after the day of d.
func nextDay(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, d.Location())
}

// Zone loads the time zone named by an app's dnd_timezone; an empty or
// unknown name falls back to Asia/Shanghai (the §11.6 default), then UTC.
func Zone(name string) *time.Location {
	for _, n := range []string{name, "Asia/Shanghai"} {
		if n == "" {
			continue
		}
		if loc, err := time.LoadLocation(n); err == nil {
			return loc
		}
	}
	return time.UTC
}

// emptyReport has every day of r with zero counts for each platform.
func emptyReport(r Range) Report {
	rep := Report{}
	for _, day := range r.Days() {
		m := make(map[string]Counts, len(r.Platforms))
		for _, p := range r.Platforms {
			m[p] = Counts{}
		}
		rep[day] = m
	}
	return rep
}

// String is for logs.
func (r Range) String() string {
	return fmt.Sprintf("%s..%s %v", r.First.Format(DayLayout), r.Last.Format(DayLayout),
		r.Platforms)
}
