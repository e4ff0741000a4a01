package user

import (
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/push"
)

// putSetting applies a partial update of one level of notification
// settings (SPEC.md §5.3) and answers the level's state once it is durable.
func (g *grain) putSetting(ctx actor.Context,
	m *messages.PutNotificationSetting) *messages.NotificationSettingsReply {
	if g.failed {
		return &messages.NotificationSettingsReply{Error: unavailable()}
	}
	// Checked again here: other transports reach the grain unchecked.
	if e := push.ValidateSettingChange(g.user, m); e != nil {
		return &messages.NotificationSettingsReply{Error: e}
	}
	now := g.deps.Now()
	rec := proto.Clone(g.rec).(*messages.UserRecord)
	s := push.ApplySettingChange(rec, m, now)
	appLevel := push.IsAppLevel(g.user, m.Chattype, m.Key)
	if appLevel {
		rec.AppSetting = s
	} else {
		key := push.ConversationKey(m.Chattype, m.Key)
		if s == nil {
			delete(rec.Conversations, key)
		} else {
			if rec.Conversations == nil {
				rec.Conversations = map[string]*messages.NotificationSetting{}
			}
			rec.Conversations[key] = s
		}
	}
	if !proto.Equal(rec, g.rec) {
		if e := g.store(ctx, touched(rec, now.UnixMilli())); e != nil {
			return &messages.NotificationSettingsReply{Error: e}
		}
	}
	return &messages.NotificationSettingsReply{Settings: []*messages.NotificationSettingView{
		g.settingView(m.Chattype, m.Key),
	}}
}

// touched stamps rec as changed at now (ms) and returns it.
func touched(rec *messages.UserRecord, now int64) *messages.UserRecord {
	rec.Modified = now
	if rec.Created == 0 {
		rec.Created = now
	}
	return rec
}

// settingView answers one level from the current record.
func (g *grain) settingView(chattype, key string) *messages.NotificationSettingView {
	now := g.deps.Now()
	if push.IsAppLevel(g.user, chattype, key) {
		return push.SettingView(chattype, key, true, g.rec.AppSetting, now)
	}
	if chattype == push.ChatTypeUser {
		key = strings.ToLower(key)
	}
	s := g.rec.Conversations[push.ConversationKey(chattype, key)]
	return push.SettingView(chattype, key, false, s, now)
}

// getSettings reads the levels asked for, or with m.All every
// conversation that has a setting of its own, sorted by chattype then key
// (SPEC.md §5.4).
func (g *grain) getSettings(
	m *messages.GetNotificationSettings) *messages.NotificationSettingsReply {
	if g.failed {
		return &messages.NotificationSettingsReply{Error: unavailable()}
	}
	reply := &messages.NotificationSettingsReply{}
	if !m.All {
		for _, ref := range m.Refs {
			reply.Settings = append(reply.Settings, g.settingView(ref.Chattype, ref.Key))
		}
		return reply
	}
	keys := make([]string, 0, len(g.rec.Conversations))
	for k := range g.rec.Conversations {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		chattype, key, _ := strings.Cut(k, ":")
		if v := g.settingView(chattype, key); v.Own {
			reply.Settings = append(reply.Settings, v)
		}
	}
	return reply
}

// putUserField validates and applies one change of the user record and
// answers the record once the change is durable.
func (g *grain) putUserField(ctx actor.Context, check func() *messages.Error,
	apply func(*messages.UserRecord)) *messages.UserReply {
	if g.failed {
		return &messages.UserReply{Error: unavailable()}
	}
	if e := check(); e != nil {
		return &messages.UserReply{Error: e}
	}
	rec := proto.Clone(g.rec).(*messages.UserRecord)
	apply(rec)
	if !proto.Equal(rec, g.rec) {
		if e := g.store(ctx, touched(rec, g.deps.Now().UnixMilli())); e != nil {
			return &messages.UserReply{Error: e}
		}
	}
	return &messages.UserReply{User: g.rec}
}

func (g *grain) putLanguage(ctx actor.Context, m *messages.PutUserLanguage) *messages.UserReply {
	return g.putUserField(ctx,
		func() *messages.Error { return messages.ValidateLanguage(m.Language) },
		func(rec *messages.UserRecord) { rec.Language = m.Language })
}

func (g *grain) putTimezone(ctx actor.Context, m *messages.PutUserTimezone) *messages.UserReply {
	return g.putUserField(ctx,
		func() *messages.Error { return messages.ValidateTimezone(m.Timezone) },
		func(rec *messages.UserRecord) { rec.Timezone = m.Timezone })
}

// putTemplate sets the receiver template; the name must exist in the app
// now (SPEC.md §8.6). A template deleted later is skipped at push time.
func (g *grain) putTemplate(ctx actor.Context, m *messages.PutUserTemplate) *messages.UserReply {
	check := func() *messages.Error {
		if m.TemplateName == "" {
			return nil
		}
		appRec := g.appRecord()
		if appRec == nil {
			return unavailable()
		}
		if appRec.Templates[m.TemplateName] == nil {
			return messages.TemplateNotFound(m.TemplateName)
		}
		return nil
	}
	return g.putUserField(ctx, check,
		func(rec *messages.UserRecord) { rec.TemplateName = m.TemplateName })
}

// putProfile changes the push nickname and the display style (§8.1).
func (g *grain) putProfile(ctx actor.Context, m *messages.PutUserProfile) *messages.UserReply {
	return g.putUserField(ctx,
		func() *messages.Error { return messages.ValidatePutUserProfile(m) },
		func(rec *messages.UserRecord) {
			if m.HasNickname {
				rec.Nickname = m.Nickname
			}
			if m.HasDisplayStyle {
				rec.DisplayStyle = m.DisplayStyle
			}
		})
}
