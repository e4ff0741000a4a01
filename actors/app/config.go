package app

import (
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/push"
)

// putConfig applies a deep partial update of the push config (SPEC.md
// §11.6): every field named in m.present is validated first, then copied;
// nothing else changes. The built-in patterns live in the app's templates.
func (g *grain) putConfig(m *messages.PutPushConfig) *messages.AppReply {
	if e := g.ready(); e != nil {
		return &messages.AppReply{Error: e}
	}
	if e := messages.ValidatePutPushConfig(m); e != nil {
		return &messages.AppReply{Error: e}
	}
	now := g.deps.Now().UnixMilli()
	rec := proto.Clone(g.rec).(*messages.AppRecord)
	if rec.Config == nil {
		rec.Config = push.DefaultPushConfig()
	}
	for _, field := range m.Present {
		applyConfigField(rec, m, field, now)
	}
	if proto.Equal(rec, g.rec) {
		return &messages.AppReply{App: g.rec}
	}
	rec.Modified = now
	if e := g.store(rec); e != nil {
		return &messages.AppReply{Error: e}
	}
	return &messages.AppReply{App: rec}
}

// applyConfigField copies one validated dotted field from m into rec.
func applyConfigField(rec *messages.AppRecord, m *messages.PutPushConfig, field string,
	now int64) {
	in, cfg := m.Config, rec.Config
	head, rest, _ := strings.Cut(field, ".")
	switch head {
	case "multi_device_policy":
		cfg.MultiDevicePolicy = in.MultiDevicePolicy
	case "dnd_timezone":
		cfg.DndTimezone = in.DndTimezone
	case "at_content_pattern":
		cfg.AtContentPattern = in.AtContentPattern
	case "statistics_enabled":
		cfg.StatisticsEnabled = in.StatisticsEnabled
	case "type_summaries":
		if cfg.TypeSummaries == nil {
			cfg.TypeSummaries = map[string]string{}
		}
		cfg.TypeSummaries[rest] = in.TypeSummaries[rest]
	case "webhook":
		applyWebhookField(cfg, in.Webhook, rest)
	case "rate_limits":
		applyRateLimit(cfg, in.RateLimits, rest)
	case "builtin_templates":
		applyBuiltinField(rec, m.BuiltinTemplates, rest, now)
	}
}

func applyWebhookField(cfg *messages.PushConfig, in *messages.Webhook, name string) {
	if cfg.Webhook == nil {
		cfg.Webhook = &messages.Webhook{}
	}
	switch name {
	case "url":
		cfg.Webhook.Url = in.GetUrl()
	case "secret":
		cfg.Webhook.Secret = in.GetSecret()
	case "events":
		cfg.Webhook.Events = append([]string{}, in.GetEvents()...)
	}
}

func applyRateLimit(cfg *messages.PushConfig, in *messages.RateLimits, bucket string) {
	if cfg.RateLimits == nil {
		cfg.RateLimits = push.DefaultPushConfig().RateLimits
	}
	r := cfg.RateLimits
	switch bucket {
	case "settings":
		r.Settings = in.GetSettings()
	case "templates":
		r.Templates = in.GetTemplates()
	case "statistics":
		r.Statistics = in.GetStatistics()
	case "user":
		r.User = in.GetUser()
	}
}

// applyBuiltinField sets one pattern of a built-in template: the same
// record the template API reads and writes (§8.6).
func applyBuiltinField(rec *messages.AppRecord, in map[string]*messages.Template,
	path string, now int64) {
	name, pattern, _ := strings.Cut(path, ".")
	if rec.Templates == nil {
		rec.Templates = map[string]*messages.Template{}
	}
	t := rec.Templates[name]
	if t == nil {
		t = push.BuiltinTemplates(now)[name]
		rec.Templates[name] = t
	}
	before := proto.Clone(t)
	switch pattern {
	case "title_pattern":
		t.TitlePattern = in[name].GetTitlePattern()
	case "content_pattern":
		t.ContentPattern = in[name].GetContentPattern()
	}
	if !proto.Equal(before, t) {
		t.UpdateAt = now
	}
}
