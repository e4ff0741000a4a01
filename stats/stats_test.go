package stats

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-im/herald/events"
	"github.com/herald-im/herald/persistence"
)

var (
	shanghai = mustZone("Asia/Shanghai")
	kolkata  = mustZone("Asia/Kolkata")
	berlin   = mustZone("Europe/Berlin")
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func openStore(t *testing.T, dir string) *persistence.Store {
	t.Helper()
	s, err := persistence.Open(dir, persistence.Options{
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return s
}

// newRecorder opens a Pebble store in a temporary directory and a
// Recorder on it whose loop never flushes on its own during a test.
func newRecorder(t *testing.T) (*Recorder, *persistence.Store) {
	t.Helper()
	store := openStore(t, filepath.Join(t.TempDir(), "pebble"))
	r, err := New(Options{Store: store, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.Close()
		_ = store.Close()
	})
	return r, store
}

func outcome(provider, status string, at time.Time) *events.Event {
	return &events.Event{AppKey: "org1#app1", MsgID: "m", Target: "bob",
		Provider: provider, NotifierName: "n", Status: status, Time: at, Counted: true}
}

func query(t *testing.T, r *Recorder, begin, end, platform string,
	loc *time.Location) Report {
	t.Helper()
	rep, err := r.Query("org1#app1", begin, end, platform, loc)
	if err != nil {
		t.Fatalf("Query(%s, %s, %q): %v", begin, end, platform, err)
	}
	return rep
}

func wantCounts(t *testing.T, rep Report, day, platform string, success, fail int64) {
	t.Helper()
	got, ok := rep[day][platform]
	want := Counts{SuccessCount: success, FailCount: fail}
	if !ok || got != want {
		t.Errorf("report[%s][%s] = %+v (present %v), want %+v", day, platform, got, ok, want)
	}
}

func TestStatsParseQuery(t *testing.T) {
	for _, tc := range []struct {
		begin, end, platform string
		loc                  *time.Location
		field                string // "" = valid
		days                 int
		platforms            string
	}{
		{"2024-04-01", "2024-04-01", "", shanghai, "", 1, "APNS,ANDROID"},
		{"2024-04-01", "2024-04-03", "ALL", shanghai, "", 3, "APNS,ANDROID"},
		{"2024-04-01", "2024-04-03", "APNS", shanghai, "", 3, "APNS"},
		{"2024-04-01", "2024-04-03", "ANDROID", shanghai, "", 3, "ANDROID"},
		{"2024-01-01", "2024-01-31", "", shanghai, "", 31, "APNS,ANDROID"},
		// A month with a 23-hour day is still 31 days.
		{"2024-03-01", "2024-03-31", "", berlin, "", 31, "APNS,ANDROID"},
		{"2024-02-28", "2024-03-01", "", time.UTC, "", 3, "APNS,ANDROID"},
		{"2024-01-01", "2024-02-01", "", shanghai, "end", 0, ""},
		{"2024-04-02", "2024-04-01", "", shanghai, "begin", 0, ""},
		{"2024-4-01", "2024-04-01", "", shanghai, "begin", 0, ""},
		{"2024-02-30", "2024-03-01", "", shanghai, "begin", 0, ""},
		{"", "2024-04-01", "", shanghai, "begin", 0, ""},
		{"2024-04-01", "20240402", "", shanghai, "end", 0, ""},
		{"2024-04-01", "2024-04-01T00", "", shanghai, "end", 0, ""},
		{"2024-04-01", "2024-04-02", "IOS", shanghai, "platform", 0, ""},
		{"2024-04-01", "2024-04-02", "all", shanghai, "platform", 0, ""},
	} {
		name := tc.begin + ".." + tc.end + "/" + tc.platform
		rg, err := ParseQuery(tc.begin, tc.end, tc.platform, tc.loc)
		if tc.field != "" {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: err %v, want invalid %s", name, err, tc.field)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if days := rg.Days(); len(days) != tc.days || days[0] != tc.begin ||
			days[len(days)-1] != tc.end {
			t.Errorf("%s: days %v, want %d from begin to end", name, days, tc.days)
		}
		if got := strings.Join(rg.Platforms, ","); got != tc.platforms {
			t.Errorf("%s: platforms %s, want %s", name, got, tc.platforms)
		}
	}
}

func TestStatsCountsPlatforms(t *testing.T) {
	r, _ := newRecorder(t)
	at := time.Date(2024, 4, 1, 15, 0, 0, 0, shanghai)
	for _, ev := range []*events.Event{
		outcome("apns", "success", at),
		outcome("apns-voip", "success", at),
		outcome("apns", "fail", at),
		outcome("fcm", "success", at),
		outcome("huawei", "error", at),
		outcome("meizu", "fail", at),
	} {
		r.Emit(ev)
	}
	notCounted := outcome("fcm", "fail", at)
	notCounted.Counted = false
	r.Emit(notCounted)
	r.Emit(nil)

	rep := query(t, r, "2024-04-01", "2024-04-02", "", shanghai)
	wantCounts(t, rep, "2024-04-01", "APNS", 2, 1)
	wantCounts(t, rep, "2024-04-01", "ANDROID", 1, 2)
	wantCounts(t, rep, "2024-04-02", "APNS", 0, 0)
	wantCounts(t, rep, "2024-04-02", "ANDROID", 0, 0)
	if len(rep) != 2 {
		t.Errorf("report has %d days, want 2", len(rep))
	}

	apns := query(t, r, "2024-04-01", "2024-04-01", "APNS", shanghai)
	if _, ok := apns["2024-04-01"]["ANDROID"]; ok || len(apns["2024-04-01"]) != 1 {
		t.Errorf("APNS query answered %v, want APNS only", apns)
	}
	if _, err := r.Query("org1#other", "2024-04-01", "2024-04-01", "", shanghai); err != nil {
		t.Errorf("query of another app: %v", err)
	}
	other, _ := r.Query("org1#other", "2024-04-01", "2024-04-01", "", shanghai)
	if other["2024-04-01"]["APNS"] != (Counts{}) {
		t.Errorf("another app sees %v, want zero counts", other)
	}
	if r.Dropped() != 0 {
		t.Errorf("dropped %d events, want 0", r.Dropped())
	}
}

func TestStatsDayBoundaries(t *testing.T) {
	r, _ := newRecorder(t)
	utc := func(h, m, s int) time.Time { return time.Date(2024, 4, 1, h, m, s, 0, time.UTC) }
	// 15:59:59 UTC is 23:59:59 in Shanghai; 16:00 UTC is the next day
	// there. 18:29:59 and 18:30 UTC straddle midnight in Kolkata (+5:30).
	r.Emit(outcome("fcm", "success", utc(15, 59, 59)))
	r.Emit(outcome("fcm", "success", utc(16, 0, 0)))
	r.Emit(outcome("apns", "fail", utc(18, 29, 59)))
	r.Emit(outcome("apns", "fail", utc(18, 30, 0)))
	r.Emit(outcome("apns", "success", utc(23, 59, 59)))
	r.Emit(outcome("apns", "success", time.Date(2024, 4, 2, 0, 0, 0, 0, time.UTC)))

	// Half the counts pending, half stored: the days must not change.
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	r.Emit(outcome("fcm", "fail", utc(15, 59, 59)))
	r.Emit(outcome("fcm", "fail", utc(16, 0, 0)))

	sh := query(t, r, "2024-04-01", "2024-04-02", "", shanghai)
	wantCounts(t, sh, "2024-04-01", "ANDROID", 1, 1)
	wantCounts(t, sh, "2024-04-02", "ANDROID", 1, 1)
	wantCounts(t, sh, "2024-04-01", "APNS", 0, 0)
	wantCounts(t, sh, "2024-04-02", "APNS", 2, 2)

	u := query(t, r, "2024-04-01", "2024-04-02", "", time.UTC)
	wantCounts(t, u, "2024-04-01", "ANDROID", 2, 2)
	wantCounts(t, u, "2024-04-02", "ANDROID", 0, 0)
	wantCounts(t, u, "2024-04-01", "APNS", 1, 2)
	wantCounts(t, u, "2024-04-02", "APNS", 1, 0)

	in := query(t, r, "2024-04-01", "2024-04-02", "APNS", kolkata)
	wantCounts(t, in, "2024-04-01", "APNS", 0, 1)
	wantCounts(t, in, "2024-04-02", "APNS", 2, 1)

	// A range that starts after the events sees none of them.
	late := query(t, r, "2024-04-03", "2024-04-03", "", shanghai)
	wantCounts(t, late, "2024-04-03", "APNS", 0, 0)
	wantCounts(t, late, "2024-04-03", "ANDROID", 0, 0)
}

func TestStatsFlushDoesNotDoubleCount(t *testing.T) {
	r, store := newRecorder(t)
	at := time.Date(2024, 4, 1, 12, 0, 0, 0, shanghai)
	r.Emit(outcome("fcm", "success", at))
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	r.Emit(outcome("fcm", "success", at))
	wantCounts(t, query(t, r, "2024-04-01", "2024-04-01", "", shanghai),
		"2024-04-01", "ANDROID", 2, 0)
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(); err != nil { // nothing pending: a no-op
		t.Fatal(err)
	}
	wantCounts(t, query(t, r, "2024-04-01", "2024-04-01", "", shanghai),
		"2024-04-01", "ANDROID", 2, 0)

	raw, err := store.GetSoft(counterKey("org1#app1", "ANDROID", at.Unix()/bucketSeconds))
	if err != nil || raw == nil {
		t.Fatalf("stored counter: %v %v", raw, err)
	}
	if got, _ := decodeTally(raw); got != (tally{2, 0}) {
		t.Errorf("stored counter = %+v, want {2 0}", got)
	}
}

func TestStatsPersistAcrossReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pebble")
	at := time.Date(2024, 4, 1, 9, 0, 0, 0, shanghai)

	// Each round counts one success and one error, then closes recorder
	// and store; the next round reopens both and must see all rounds.
	for round := 1; round <= 3; round++ {
		store := openStore(t, dir)
		r, err := New(Options{Store: store, FlushInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		r.Emit(outcome("apns", "success", at))
		r.Emit(outcome("apns", "error", at))
		rep := query(t, r, "2024-04-01", "2024-04-01", "APNS", shanghai)
		wantCounts(t, rep, "2024-04-01", "APNS", int64(round), int64(round))
		if err := r.Close(); err != nil {
			t.Fatalf("round %d: close recorder: %v", round, err)
		}
		if err := store.Close(); err != nil {
			t.Fatalf("round %d: close store: %v", round, err)
		}
	}
}

func TestStatsFlushLoop(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "pebble"))
	defer store.Close()
	r, err := New(Options{Store: store, FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	at := time.Date(2024, 4, 1, 9, 0, 0, 0, time.UTC)
	r.Emit(outcome("fcm", "success", at))

	key := counterKey("org1#app1", "ANDROID", at.Unix()/bucketSeconds)
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, err := store.GetSoft(key)
		if err != nil {
			t.Fatal(err)
		}
		if raw != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the flush loop never wrote the counter")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestStatsDropsAndClose(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "pebble"))
	defer store.Close()
	now := time.Date(2024, 4, 1, 9, 0, 0, 0, time.UTC)
	r, err := New(Options{Store: store, FlushInterval: time.Hour, MaxPending: 2,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}

	r.Emit(outcome("", "success", now))                                      // no provider
	r.Emit(outcome("fcm", "maybe", now))                                     // unknown status
	r.Emit(&events.Event{Provider: "fcm", Status: "success", Counted: true}) // no app
	if r.Dropped() != 3 {
		t.Errorf("dropped %d malformed events, want 3", r.Dropped())
	}

	r.Emit(outcome("fcm", "success", time.Time{}))          // dated by Now
	r.Emit(outcome("apns", "success", now))                 // second counter
	r.Emit(outcome("apns", "success", now.Add(-time.Hour))) // third: over the bound
	r.Emit(outcome("apns", "fail", now))                    // existing counter: kept
	if r.Dropped() != 4 {
		t.Errorf("dropped %d, want 4 after the memory bound", r.Dropped())
	}
	rep, err := r.Query("org1#app1", "2024-04-01", "2024-04-01", "", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, rep, "2024-04-01", "ANDROID", 1, 0)
	wantCounts(t, rep, "2024-04-01", "APNS", 1, 1)

	if _, err := r.Query("", "2024-04-01", "2024-04-01", "", time.UTC); err == nil {
		t.Error("query without app key: no error")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if _, err := r.Query("org1#app1", "2024-04-01", "2024-04-01", "", time.UTC); !errors.Is(
		err, ErrClosed) {
		t.Errorf("Query after Close = %v, want ErrClosed", err)
	}
	r.Emit(outcome("fcm", "success", now))
	if r.Dropped() != 5 {
		t.Errorf("Emit after Close was not dropped")
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New without a store: no error")
	}
}

func TestStatsZone(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Europe/Berlin", "Europe/Berlin"},
		{"", "Asia/Shanghai"},
		{"Mars/Olympus", "Asia/Shanghai"},
	} {
		if got := Zone(tc.name).String(); got != tc.want {
			t.Errorf("Zone(%q) = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestStatsConcurrentFlushAndQuery counts from several goroutines while
// flushes and queries run; no count may be lost or counted twice.
func TestStatsConcurrentFlushAndQuery(t *testing.T) {
	r, _ := newRecorder(t)
	at := time.Date(2024, 4, 1, 12, 0, 0, 0, time.UTC)
	const writers, each = 4, 500

	stop := make(chan struct{})
	flushed := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				flushed <- nil
				return
			default:
			}
			if err := r.Flush(); err != nil {
				flushed <- err
				return
			}
			rep, err := r.Query("org1#app1", "2024-04-01", "2024-04-01", "", time.UTC)
			if err != nil {
				flushed <- err
				return
			}
			if n := rep["2024-04-01"]["ANDROID"].SuccessCount; n > writers*each {
				flushed <- errors.New("counted more than emitted")
				return
			}
		}
	}()

	done := make(chan struct{})
	for range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			for range each {
				r.Emit(outcome("fcm", "success", at))
			}
		}()
	}
	for range writers {
		<-done
	}
	close(stop)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	wantCounts(t, query(t, r, "2024-04-01", "2024-04-01", "ANDROID", time.UTC),
		"2024-04-01", "ANDROID", writers*each, 0)
}
