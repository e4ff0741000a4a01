package push

import "github.com/herald-im/herald/messages"

// Names of the built-in templates (SPEC.md §8.2).
const (
	TemplateDefault = "default"
	TemplateDetail  = "detail"
)

// Default texts of SPEC.md §8.2, §8.4, §8.5 and §11.6.
const (
	defaultTitle            = "您有一条新消息"
	defaultContent          = "请点击查看"
	detailContent           = "{$fromNickname}: {$msg}"
	defaultAtContentPattern = "{$fromNickname}在群中@了你"
	defaultDNDTimezone      = "Asia/Shanghai"
)

// defaultTypeSummaries are the {$msg} texts of non-text bodies (§8.4).
var defaultTypeSummaries = map[string]string{
	"img":    "[Image]",
	"audio":  "[Voice]",
	"video":  "[Video]",
	"file":   "[File]",
	"loc":    "[Location]",
	"custom": "[Message]",
}

// DefaultPushConfig returns a new app's push config (SPEC.md §11.6).
func DefaultPushConfig() *messages.PushConfig {
	summaries := make(map[string]string, len(defaultTypeSummaries))
	for k, v := range defaultTypeSummaries {
		summaries[k] = v
	}
	return &messages.PushConfig{
		MultiDevicePolicy: PolicyAllOffline,
		DndTimezone:       defaultDNDTimezone,
		TypeSummaries:     summaries,
		AtContentPattern:  defaultAtContentPattern,
		Webhook: &messages.Webhook{
			Events: []string{"success", "fail", "error"},
		},
		StatisticsEnabled: true,
		RateLimits: &messages.RateLimits{
			Settings:   100,
			Templates:  10,
			Statistics: 10,
			User:       100,
		},
	}
}

// BuiltinTemplates returns the two undeletable templates of a new app
// (SPEC.md §8.2), created at now (ms).
func BuiltinTemplates(now int64) map[string]*messages.Template {
	return map[string]*messages.Template{
		TemplateDefault: {
			Name:           TemplateDefault,
			TitlePattern:   defaultTitle,
			ContentPattern: defaultContent,
			CreateAt:       now,
			UpdateAt:       now,
		},
		TemplateDetail: {
			Name:           TemplateDetail,
			TitlePattern:   defaultTitle,
			ContentPattern: detailContent,
			CreateAt:       now,
			UpdateAt:       now,
		},
	}
}
