package messages

import (
	"strings"
	"testing"
)

func TestValidatePutPushConfig(t *testing.T) {
	full := func() *PutPushConfig {
		return &PutPushConfig{
			Config: &PushConfig{
				MultiDevicePolicy: "any_offline",
				DndTimezone:       "America/New_York",
				AtContentPattern:  "@{$fromNickname}",
				TypeSummaries:     map[string]string{"img": "[Pic]"},
				Webhook: &Webhook{Url: "https://hooks.example/x", Secret: "s",
					Events: []string{"fail"}},
				RateLimits: &RateLimits{Settings: 5, Templates: 1, Statistics: 1, User: 9},
			},
			BuiltinTemplates: map[string]*Template{"detail": {TitlePattern: "T",
				ContentPattern: "C"}},
			Present: []string{"multi_device_policy", "dnd_timezone", "at_content_pattern",
				"type_summaries.img", "webhook.url", "webhook.secret", "webhook.events",
				"rate_limits.settings", "rate_limits.user", "statistics_enabled",
				"builtin_templates.detail.title_pattern",
				"builtin_templates.detail.content_pattern"},
		}
	}
	if e := ValidatePutPushConfig(full()); e != nil {
		t.Fatalf("valid config rejected: %v", e)
	}
	tests := []struct {
		field string
		spoil func(*PutPushConfig)
	}{
		{"multi_device_policy", func(m *PutPushConfig) {
			m.Config.MultiDevicePolicy = "ALL_OFFLINE"
		}},
		{"dnd_timezone", func(m *PutPushConfig) { m.Config.DndTimezone = "Local" }},
		{"dnd_timezone", func(m *PutPushConfig) { m.Config.DndTimezone = "" }},
		{"at_content_pattern", func(m *PutPushConfig) {
			m.Config.AtContentPattern = strings.Repeat("x", MaxPatternChars+1)
		}},
		{"type_summaries.img", func(m *PutPushConfig) { m.Config.TypeSummaries["img"] = "\xff" }},
		{"webhook.url", func(m *PutPushConfig) { m.Config.Webhook.Url = "hooks.example" }},
		{"webhook.events", func(m *PutPushConfig) { m.Config.Webhook.Events = []string{"ok"} }},
		{"rate_limits.user", func(m *PutPushConfig) { m.Config.RateLimits.User = 0 }},
		{"rate_limits.settings", func(m *PutPushConfig) {
			m.Config.RateLimits.Settings = MaxRateLimitValue + 1
		}},
		{"builtin_templates.detail.title_pattern", func(m *PutPushConfig) {
			m.BuiltinTemplates["detail"].TitlePattern = ""
		}},
		{"builtin_templates.other.title_pattern", func(m *PutPushConfig) {
			m.Present = append(m.Present, "builtin_templates.other.title_pattern")
		}},
		{"colour", func(m *PutPushConfig) { m.Present = append(m.Present, "colour") }},
	}
	for _, tc := range tests {
		m := full()
		tc.spoil(m)
		if e := ValidatePutPushConfig(m); e.GetField() != tc.field {
			t.Errorf("%s: got %v", tc.field, e)
		}
	}
	// An empty webhook url switches webhooks off and is valid.
	m := full()
	m.Config.Webhook.Url = ""
	if e := ValidatePutPushConfig(m); e != nil {
		t.Errorf("empty webhook url rejected: %v", e)
	}
}

func TestValidateUserSettings(t *testing.T) {
	if e := ValidatePutUserProfile(&PutUserProfile{HasNickname: true,
		Nickname: strings.Repeat("名", MaxNicknameChars)}); e != nil {
		t.Errorf("100-character nickname rejected: %v", e)
	}
	if e := ValidatePutUserProfile(&PutUserProfile{HasNickname: true,
		Nickname: strings.Repeat("名", MaxNicknameChars+1)}); e.GetField() != "nickname" {
		t.Errorf("101-character nickname: %v", e)
	}
	if e := ValidatePutUserProfile(&PutUserProfile{HasDisplayStyle: true,
		DisplayStyle: 2}); e.GetField() != "notification_display_style" {
		t.Errorf("style 2: %v", e)
	}
	for name, ok := range map[string]bool{"": true, "UTC": true, "Europe/Berlin": true,
		"America/New_York": true, "Local": false, "Mars/Base": false, "europe/berlin": false} {
		if ValidTimezone(name) != ok {
			t.Errorf("ValidTimezone(%q) = %v", name, !ok)
		}
	}
	if e := ValidateLanguage(strings.Repeat("x", MaxLanguageChars+1)); e == nil {
		t.Errorf("33-character language accepted")
	}
}

func TestValidateNicknameBatch(t *testing.T) {
	entries := make([]NicknameEntry, MaxNicknameBatch+1)
	for i := range entries {
		entries[i] = NicknameEntry{Username: "u", Nickname: "n"}
	}
	tests := []struct {
		batch []NicknameEntry
		desc  string
	}{
		{nil, "put user push nicknames illegal empty request body"},
		{entries, "put user push nicknames exceeds the limit"},
		{entries[:MaxNicknameBatch], ""},
		{[]NicknameEntry{{Username: "bob", Nickname: strings.Repeat("x", 101)}},
			"bob push nickname length exceeds the limit"},
		{[]NicknameEntry{{Username: "", Nickname: "x"}}, "parameters is invalid : username"},
	}
	for _, tc := range tests {
		if e := ValidateNicknameBatch(tc.batch); e.GetDescription() != tc.desc {
			t.Errorf("batch of %d: %v, want %q", len(tc.batch), e, tc.desc)
		}
	}
}

func TestValidatePutTemplate(t *testing.T) {
	ok := &PutTemplate{Create: true, Template: &Template{Name: "a_B9",
		TitlePattern: "t", ContentPattern: strings.Repeat("c", MaxPatternChars)}}
	if e := ValidatePutTemplate(ok); e != nil {
		t.Errorf("valid template rejected: %v", e)
	}
	update := &PutTemplate{HasContent: true, Template: &Template{Name: "x",
		ContentPattern: "c"}}
	if e := ValidatePutTemplate(update); e != nil {
		t.Errorf("update of the content only rejected: %v", e)
	}
	for field, m := range map[string]*PutTemplate{
		"name": {Create: true, Template: &Template{Name: strings.Repeat("n", 65),
			TitlePattern: "t", ContentPattern: "c"}},
		"title_pattern":   {Create: true, Template: &Template{Name: "n", ContentPattern: "c"}},
		"content_pattern": {HasContent: true, Template: &Template{Name: "n"}},
		"body":            {Create: true},
	} {
		if e := ValidatePutTemplate(m); e.GetField() != field {
			t.Errorf("%s: got %v", field, e)
		}
	}
}
