package messages

// Validation of the settings resources: user profile, language, time
// zone, templates and the push config (SPEC.md §8, §9, §11.4, §11.6). The
// notification settings of §5.3 are checked by push.ValidateSettingChange,
// which shares the interval parser with the pipeline.

import (
	"regexp"
	"strings"
	"time"
)

// Limits of SPEC.md §8.1, §8.6, §9 and §11.4.
const (
	MaxNicknameChars  = 100
	MaxNicknameBatch  = 50
	MaxLanguageChars  = 32
	MaxPatternChars   = 1024
	MaxWebhookSecret  = 1024
	MaxTimezoneChars  = 64
	MaxRateLimitValue = 1_000_000
)

// Errors of PUT /push/nickname (SPEC.md §11.4).
const (
	nicknameBatchEmpty = "put user push nicknames illegal empty request body"
	nicknameBatchLimit = "put user push nicknames exceeds the limit"
)

// illegal is an illegal_argument error with a description of its own.
func illegal(field, description string) *Error {
	return &Error{Code: CodeIllegalArgument, Field: field, Description: description}
}

// TemplateNotFound is the error for an unknown template name (§8.6).
func TemplateNotFound(name string) *Error {
	return &Error{Code: CodeEntityNotFound, Field: "name",
		Description: name + " template is not exist"}
}

// ValidatePutUserProfile checks PUT /users/{u} (§8.1, §11.4).
func ValidatePutUserProfile(m *PutUserProfile) *Error {
	if m == nil {
		return InvalidField("body")
	}
	if m.HasNickname && !charsBetween(m.Nickname, 0, MaxNicknameChars) {
		return InvalidField("nickname")
	}
	if m.HasDisplayStyle && m.DisplayStyle != 0 && m.DisplayStyle != 1 {
		return InvalidField("notification_display_style")
	}
	return nil
}

// NicknameEntry is one element of PUT /push/nickname.
type NicknameEntry struct {
	Username string
	Nickname string
}

// ValidateNicknameBatch checks a whole PUT /push/nickname batch before any
// of it is written (§11.4), with that endpoint's own error texts.
func ValidateNicknameBatch(entries []NicknameEntry) *Error {
	if len(entries) == 0 {
		return illegal("body", nicknameBatchEmpty)
	}
	if len(entries) > MaxNicknameBatch {
		return illegal("body", nicknameBatchLimit)
	}
	for _, e := range entries {
		if e.Username == "" || !charsBetween(e.Username, 1, 256) {
			return InvalidField("username")
		}
		if !charsBetween(e.Nickname, 0, MaxNicknameChars) {
			return illegal("push_nickname",
				e.Username+" push nickname length exceeds the limit")
		}
	}
	return nil
}

// ValidateLanguage checks a translation language (§9): stored as given.
func ValidateLanguage(lang string) *Error {
	if !charsBetween(lang, 0, MaxLanguageChars) {
		return InvalidField("translationLanguage")
	}
	return nil
}

// ValidTimezone reports whether name is "" or a zone of the IANA database.
func ValidTimezone(name string) bool {
	if name == "" {
		return true
	}
	// "Local" is the host's zone, not an IANA name.
	if name == "Local" || len(name) > MaxTimezoneChars {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// ValidateTimezone checks a user's time zone (§11.4).
func ValidateTimezone(name string) *Error {
	if !ValidTimezone(name) {
		return InvalidField("timezone")
	}
	return nil
}

var templateName = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// ValidTemplateName reports whether name matches SPEC.md §8.6.
func ValidTemplateName(name string) bool {
	return templateName.MatchString(name)
}

func validPattern(p string) bool {
	return charsBetween(p, 1, MaxPatternChars)
}

// ValidatePutTemplate checks a template creation (both patterns required)
// or update (only the present patterns) (§8.6).
func ValidatePutTemplate(m *PutTemplate) *Error {
	if m == nil || m.Template == nil {
		return InvalidField("body")
	}
	t := m.Template
	if !ValidTemplateName(t.Name) {
		return InvalidField("name")
	}
	if (m.Create || m.HasTitle) && !validPattern(t.TitlePattern) {
		return InvalidField("title_pattern")
	}
	if (m.Create || m.HasContent) && !validPattern(t.ContentPattern) {
		return InvalidField("content_pattern")
	}
	return nil
}

// Multi-device policies and webhook statuses of §11.6 (push/ names the
// policies for the pipeline; these are the accepted spellings).
var (
	configPolicies   = []string{"all_offline", "any_offline"}
	webhookStatuses  = []string{"success", "fail", "error"}
	summaryBodyTypes = []string{"img", "audio", "video", "file", "loc", "custom"}
	builtinNames     = []string{"default", "detail"}
)

// ValidatePutPushConfig checks every field a push-config update carries
// (§11.6) and returns the first invalid one by its dotted name.
func ValidatePutPushConfig(m *PutPushConfig) *Error {
	if m == nil {
		return InvalidField("body")
	}
	cfg := m.Config
	if cfg == nil {
		cfg = &PushConfig{}
	}
	for _, field := range m.Present {
		if e := validateConfigField(field, cfg, m.BuiltinTemplates); e != nil {
			return e
		}
	}
	return nil
}

func validateConfigField(field string, cfg *PushConfig, builtins map[string]*Template) *Error {
	head, rest, _ := strings.Cut(field, ".")
	ok := true
	switch head {
	case "multi_device_policy":
		ok = oneOf(cfg.MultiDevicePolicy, configPolicies...)
	case "dnd_timezone":
		ok = cfg.DndTimezone != "" && ValidTimezone(cfg.DndTimezone)
	case "at_content_pattern":
		ok = validPattern(cfg.AtContentPattern)
	case "statistics_enabled":
	case "type_summaries":
		v, has := cfg.TypeSummaries[rest]
		ok = oneOf(rest, summaryBodyTypes...) && has && charsBetween(v, 0, MaxPatternChars)
	case "webhook":
		ok = validWebhookField(rest, cfg.Webhook)
	case "rate_limits":
		ok = validRateLimit(rest, cfg.RateLimits)
	case "builtin_templates":
		ok = validBuiltinField(rest, builtins)
	default:
		ok = false
	}
	if !ok {
		return InvalidField(field)
	}
	return nil
}

func validWebhookField(name string, w *Webhook) bool {
	switch name {
	case "url":
		return w.GetUrl() == "" || (httpURL(w.GetUrl()) && len(w.GetUrl()) <= 2048)
	case "secret":
		return charsBetween(w.GetSecret(), 0, MaxWebhookSecret)
	case "events":
		seen := map[string]bool{}
		for _, ev := range w.GetEvents() {
			if !oneOf(ev, webhookStatuses...) || seen[ev] {
				return false
			}
			seen[ev] = true
		}
		return true
	}
	return false
}

func validRateLimit(bucket string, r *RateLimits) bool {
	var v int32
	switch bucket {
	case "settings":
		v = r.GetSettings()
	case "templates":
		v = r.GetTemplates()
	case "statistics":
		v = r.GetStatistics()
	case "user":
		v = r.GetUser()
	default:
		return false
	}
	return v > 0 && v <= MaxRateLimitValue
}

func validBuiltinField(path string, builtins map[string]*Template) bool {
	name, pattern, _ := strings.Cut(path, ".")
	t := builtins[name]
	if !oneOf(name, builtinNames...) || t == nil {
		return false
	}
	switch pattern {
	case "title_pattern":
		return validPattern(t.TitlePattern)
	case "content_pattern":
		return validPattern(t.ContentPattern)
	}
	return false
}
