package push

import (
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/herald-im/herald/messages"
)

func TestParseInterval(t *testing.T) {
	tests := []struct {
		in         string
		start, end int
		ok         bool
	}{
		{"22:00-07:00", 22 * 60, 7 * 60, true},
		{"8:0-9:30", 8 * 60, 9*60 + 30, true},
		{"00:00-00:00", 0, 0, true},
		{"9:0-9:0", 9 * 60, 9 * 60, true},
		{"23:59-0:0", 23*60 + 59, 0, true},
		{"24:00-08:00", 0, 0, false},
		{"08:60-09:00", 0, 0, false},
		{"08:00-09:000", 0, 0, false},
		{"08:00", 0, 0, false},
		{"8-9", 0, 0, false},
		{"-1:00-02:00", 0, 0, false},
		{"+1:00-02:00", 0, 0, false},
		{" 1:00-02:00", 0, 0, false},
		{"1:00-02:00-03:00", 0, 0, false},
		{"", 0, 0, false},
		{"１:00-02:00", 0, 0, false}, // a full-width digit is no digit
	}
	for _, tc := range tests {
		start, end, err := ParseInterval(tc.in)
		if (err == nil) != tc.ok || start != tc.start || end != tc.end {
			t.Errorf("ParseInterval(%q) = %d, %d, %v; want %d, %d, ok=%v", tc.in,
				start, end, err, tc.start, tc.end, tc.ok)
		}
	}
	if got := FormatInterval(8*60, 9*60+30); got != "08:00-09:30" {
		t.Errorf("FormatInterval = %q, want 08:00-09:30", got)
	}
}

func TestValidateSettingChange(t *testing.T) {
	type change = messages.PutNotificationSetting
	put := func(chattype, key string, mod func(*change)) *change {
		m := &messages.PutNotificationSetting{Chattype: chattype, Key: key}
		mod(m)
		return m
	}
	tests := []struct {
		name  string
		m     *change
		field string
	}{
		{"empty is a no-op", put("user", "bob", func(*change) {}), ""},
		{"lower-case type", put("user", "BOB", func(m *change) {
			m.HasType, m.Type = true, "at"
		}), ""},
		{"DEFAULT at app level", put("user", "Bob", func(m *change) {
			m.HasType, m.Type = true, "default"
		}), "type"},
		{"DEFAULT at conversation level", put("user", "alice", func(m *change) {
			m.HasType, m.Type = true, "DEFAULT"
		}), ""},
		{"unknown type", put("chatgroup", "g1", func(m *change) {
			m.HasType, m.Type = true, "SOME"
		}), "type"},
		{"bad chattype", put("group", "g1", func(*change) {}), "chattype"},
		{"empty key", put("user", "", func(*change) {}), "key"},
		{"bad interval at app level", put("user", "bob", func(m *change) {
			m.HasInterval, m.Interval = true, "24:00-08:00"
		}), "ignoreInterval"},
		{"bad interval at conversation level is ignored",
			put("chatgroup", "g1", func(m *change) {
				m.HasInterval, m.Interval = true, "nonsense"
			}), ""},
		{"negative duration", put("user", "bob", func(m *change) {
			m.HasDuration, m.Duration = true, -1
		}), "ignoreDuration"},
		{"duration over a week", put("user", "bob", func(m *change) {
			m.HasDuration, m.Duration = true, MaxIgnoreDuration+1
		}), "ignoreDuration"},
		{"a week", put("user", "bob", func(m *change) {
			m.HasDuration, m.Duration = true, MaxIgnoreDuration
		}), ""},
	}
	for _, tc := range tests {
		e := ValidateSettingChange("bob", tc.m)
		if e.GetField() != tc.field {
			t.Errorf("%s: error %v, want field %q", tc.name, e, tc.field)
		}
	}
}

func TestApplySettingChange(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	rec := &messages.UserRecord{User: "bob"}

	// App level: partial updates keep the other fields (D22).
	m := &messages.PutNotificationSetting{Chattype: "user", Key: "bob",
		HasInterval: true, Interval: "22:0-7:0"}
	rec.AppSetting = ApplySettingChange(rec, m, now)
	m = &messages.PutNotificationSetting{Chattype: "user", Key: "BOB", HasType: true, Type: "at",
		HasDuration: true, Duration: 86400000}
	rec.AppSetting = ApplySettingChange(rec, m, now)
	v := SettingView("user", "bob", true, rec.AppSetting, now)
	if v.Type != "AT" || v.IgnoreInterval != "22:00-07:00" ||
		v.IgnoreDuration != now.UnixMilli()+86400000 {
		t.Errorf("app view = %v", v)
	}
	// One millisecond before expiry the duration reads; at expiry it is 0.
	exp := time.UnixMilli(now.UnixMilli() + 86400000)
	before := exp.Add(-time.Millisecond)
	if v := SettingView("user", "bob", true, rec.AppSetting, before); v.IgnoreDuration == 0 {
		t.Errorf("1 ms before expiry the duration reads 0")
	}
	if v := SettingView("user", "bob", true, rec.AppSetting, exp); v.IgnoreDuration != 0 {
		t.Errorf("at expiry the duration reads %d, want 0", v.IgnoreDuration)
	}
	// "" removes the interval; 0 clears the duration.
	m = &messages.PutNotificationSetting{Chattype: "user", Key: "bob", HasInterval: true,
		HasDuration: true}
	rec.AppSetting = ApplySettingChange(rec, m, now)
	if v := SettingView("user", "bob", true, rec.AppSetting, now); v.IgnoreInterval != "" ||
		v.IgnoreDuration != 0 || v.Type != "AT" {
		t.Errorf("after clearing, app view = %v", v)
	}

	// Conversation level: the interval is not stored; DEFAULT with no
	// duration leaves nothing of its own.
	m = &messages.PutNotificationSetting{Chattype: "chatgroup", Key: "g1", HasType: true,
		Type: "none", HasInterval: true, Interval: "08:00-10:00"}
	s := ApplySettingChange(rec, m, now)
	if s.GetType() != "NONE" || s.GetHasInterval() {
		t.Errorf("conversation setting = %v, want NONE without interval", s)
	}
	rec.Conversations = map[string]*messages.NotificationSetting{"chatgroup:g1": s}
	m = &messages.PutNotificationSetting{Chattype: "chatgroup", Key: "g1", HasType: true,
		Type: "DEFAULT"}
	if s := ApplySettingChange(rec, m, now); s != nil {
		t.Errorf("DEFAULT without duration = %v, want nothing left", s)
	}
	if v := SettingView("chatgroup", "g1", false, nil, now); v.Type != "DEFAULT" || v.Own {
		t.Errorf("unset conversation view = %v", v)
	}
}

// The interval grammar as a regular expression, to check the hand-written
// parser against.
var intervalRE = regexp.MustCompile(`^([0-9]{1,2}):([0-9]{1,2})-([0-9]{1,2}):([0-9]{1,2})$`)

func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{"22:00-07:00", "8:0-9:30", "00:00-00:00", "24:00-08:00",
		"08:60-09:00", "9:0-9:0", "1:2-3", "::-", "99:99-99:99"} {
		f.Add(s)
	}
	f.Fuzz(checkInterval)
}

// TestIntervalRandom is a short fuzz run inside the normal suite: random
// strings over the interval alphabet, checked like FuzzParseInterval.
func TestIntervalRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789:-x"
	for range 5000 {
		b := make([]byte, rng.IntN(14))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		checkInterval(t, string(b))
	}
}

// checkInterval compares the parser with the grammar, checks that a
// rejected interval is named as ignoreInterval and that an accepted one
// survives formatting.
func checkInterval(t *testing.T, s string) {
	start, end, err := ParseInterval(s)
	want := intervalRE.FindStringSubmatch(s)
	inRange := want != nil && atoi(want[1]) < 24 && atoi(want[2]) < 60 &&
		atoi(want[3]) < 24 && atoi(want[4]) < 60
	if (err == nil) != inRange {
		t.Fatalf("ParseInterval(%q) err = %v, grammar says valid=%v", s, err, inRange)
	}
	m := &messages.PutNotificationSetting{Chattype: "user", Key: "bob",
		HasInterval: true, Interval: s}
	e := ValidateSettingChange("bob", m)
	if err != nil {
		// Every rejected input is named by its field.
		if s != "" && e.GetField() != "ignoreInterval" {
			t.Fatalf("rejected %q reported as %v", s, e)
		}
		return
	}
	if e != nil {
		t.Fatalf("accepted %q rejected by validation: %v", s, e)
	}
	s2, e2, err := ParseInterval(FormatInterval(start, end))
	if err != nil || s2 != start || e2 != end {
		t.Fatalf("round trip of %q: %d %d %v", s, s2, e2, err)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// FuzzExpand runs the placeholder passes of §8.4 over any pattern and
// arguments: no panic, valid text stays valid, text without placeholders
// is returned as it is, and template validation names its field.
func FuzzExpand(f *testing.F) {
	f.Add("{0}-{1}", "a", "{$msg}")
	f.Add("{$fromNickname}: {$msg}", "", "")
	f.Add("{$dynamicFrom}{{0}}{", "{1}", "x")
	f.Add("{99999999999999999999}{$", "é", "\xff")
	f.Add("plain text", "", "")
	f.Fuzz(checkExpand)
}

// TestExpandRandom is a short fuzz run inside the normal suite over
// patterns built from placeholder fragments.
func TestExpandRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	parts := []string{"{", "}", "{$msg}", "{$fromNickname}", "{$dynamicFrom}", "{0}", "{1}",
		"{12}", "$", "é", "\xff", "a", "-", "{$"}
	word := func() string {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		return b.String()
	}
	for range 3000 {
		checkExpand(t, word(), word(), word())
	}
}

// checkExpand: no panic, valid text stays valid, text without placeholders
// is returned as it is, and template validation names its field.
func checkExpand(t *testing.T, pattern, arg0, arg1 string) {
	in := fixture(t, `{}`)
	r := newRendering(&in)
	out := r.expand(pattern, []string{arg0, arg1})
	valid := utf8.ValidString(pattern) && utf8.ValidString(arg0) && utf8.ValidString(arg1)
	if valid && !utf8.ValidString(out) {
		t.Fatalf("expand(%q, %q, %q) = %q, not UTF-8", pattern, arg0, arg1, out)
	}
	if !strings.Contains(pattern, "{") && out != pattern {
		t.Fatalf("expand(%q) = %q, changed text without placeholders", pattern, out)
	}

	m := &messages.PutTemplate{Create: true, Template: &messages.Template{
		Name: "t", TitlePattern: pattern, ContentPattern: "c"}}
	e := messages.ValidatePutTemplate(m)
	if e != nil && e.GetField() != "title_pattern" {
		t.Fatalf("template with title %q rejected as %v", pattern, e)
	}
	okLen := utf8.RuneCountInString(pattern) <= messages.MaxPatternChars
	if (e == nil) != (pattern != "" && utf8.ValidString(pattern) && okLen) {
		t.Fatalf("template with title %q: validation %v", pattern, e)
	}
}
