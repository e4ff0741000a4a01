package api

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/herald-im/herald/messages"
)

// configJSON is the push config as answered (SPEC.md §11.6).
type configJSON struct {
	MultiDevicePolicy string                  `json:"multi_device_policy"`
	DndTimezone       string                  `json:"dnd_timezone"`
	BuiltinTemplates  map[string]patternsJSON `json:"builtin_templates"`
	TypeSummaries     map[string]string       `json:"type_summaries"`
	AtContentPattern  string                  `json:"at_content_pattern"`
	Webhook           webhookJSON             `json:"webhook"`
	StatisticsEnabled bool                    `json:"statistics_enabled"`
	RateLimits        map[string]int32        `json:"rate_limits"`
}

type patternsJSON struct {
	TitlePattern   string `json:"title_pattern"`
	ContentPattern string `json:"content_pattern"`
}

type webhookJSON struct {
	URL    string   `json:"url"`
	Secret string   `json:"secret"`
	Events []string `json:"events"`
}

// configOf answers app's config; the webhook secret never leaves.
func configOf(app *messages.AppRecord) configJSON {
	cfg := app.GetConfig()
	out := configJSON{
		MultiDevicePolicy: cfg.GetMultiDevicePolicy(),
		DndTimezone:       cfg.GetDndTimezone(),
		BuiltinTemplates:  map[string]patternsJSON{},
		TypeSummaries:     cfg.GetTypeSummaries(),
		AtContentPattern:  cfg.GetAtContentPattern(),
		Webhook: webhookJSON{
			URL:    cfg.GetWebhook().GetUrl(),
			Events: cfg.GetWebhook().GetEvents(),
		},
		StatisticsEnabled: cfg.GetStatisticsEnabled(),
		RateLimits: map[string]int32{
			"settings":   cfg.GetRateLimits().GetSettings(),
			"templates":  cfg.GetRateLimits().GetTemplates(),
			"statistics": cfg.GetRateLimits().GetStatistics(),
			"user":       cfg.GetRateLimits().GetUser(),
		},
	}
	if out.TypeSummaries == nil {
		out.TypeSummaries = map[string]string{}
	}
	if out.Webhook.Events == nil {
		out.Webhook.Events = []string{}
	}
	if cfg.GetWebhook().GetSecret() != "" {
		out.Webhook.Secret = messages.RedactedValue
	}
	for _, name := range []string{"default", "detail"} {
		if t := app.GetTemplates()[name]; t != nil {
			out.BuiltinTemplates[name] = patternsJSON{t.TitlePattern, t.ContentPattern}
		}
	}
	return out
}

func handleGetConfig(c *call) error {
	app, err := c.currentApp()
	if err != nil {
		return err
	}
	c.data(configOf(app))
	return nil
}

// handlePutConfig applies a deep partial update: only the fields present
// change, and every one of them is validated before anything is stored.
func handlePutConfig(c *call) error {
	var fields map[string]json.RawMessage
	if _, err := c.decode(&fields); err != nil {
		return err
	}
	m := newConfigUpdate()
	if err := readConfig(fields, m); err != nil {
		return err
	}
	if e := messages.ValidatePutPushConfig(m); e != nil {
		return fromReply(e)
	}
	reply, err := c.s.opts.Backend.AppRequest(c.ctx, c.appKey, m)
	r, err := expect[*messages.AppReply](c, reply, err)
	if err != nil {
		return err
	}
	c.s.log.Info("push config updated", "app", c.appKey, "fields", m.Present)
	c.data(configOf(r.GetApp()))
	return nil
}

// newConfigUpdate is an empty update ready for readConfig.
func newConfigUpdate() *messages.PutPushConfig {
	return &messages.PutPushConfig{
		Config: &messages.PushConfig{Webhook: &messages.Webhook{},
			RateLimits: &messages.RateLimits{}, TypeSummaries: map[string]string{}},
		BuiltinTemplates: map[string]*messages.Template{},
	}
}

// readConfig copies the present fields into m and lists them in
// m.present, in a stable order. A value of the wrong JSON type is
// rejected by its dotted name.
func readConfig(fields map[string]json.RawMessage, m *messages.PutPushConfig) error {
	cfg := m.Config
	strs := map[string]*string{
		"multi_device_policy": &cfg.MultiDevicePolicy,
		"dnd_timezone":        &cfg.DndTimezone,
		"at_content_pattern":  &cfg.AtContentPattern,
	}
	for _, name := range sortedKeys(strs) {
		if raw, ok := fields[name]; ok {
			if err := readJSONString(raw, strs[name], name); err != nil {
				return err
			}
			m.Present = append(m.Present, name)
		}
	}
	if raw, ok := fields["statistics_enabled"]; ok {
		if isNull(raw) || json.Unmarshal(raw, &cfg.StatisticsEnabled) != nil {
			return errInvalid("statistics_enabled")
		}
		m.Present = append(m.Present, "statistics_enabled")
	}
	steps := []func(map[string]json.RawMessage, *messages.PutPushConfig) error{
		readSummaries, readWebhook, readRateLimits, readBuiltins,
	}
	for _, step := range steps {
		if err := step(fields, m); err != nil {
			return err
		}
	}
	return nil
}

func readJSONString(raw json.RawMessage, dst *string, field string) error {
	if isNull(raw) || json.Unmarshal(raw, dst) != nil {
		return errInvalid(field)
	}
	return nil
}

// object reads fields[name] as a JSON object; absent gives nil.
func object(fields map[string]json.RawMessage, name string) (map[string]json.RawMessage, error) {
	raw, ok := fields[name]
	if !ok {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &obj) != nil {
		return nil, errInvalid(name)
	}
	return obj, nil
}

func readSummaries(fields map[string]json.RawMessage, m *messages.PutPushConfig) error {
	obj, err := object(fields, "type_summaries")
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(obj) {
		field := "type_summaries." + k
		var v string
		if err := readJSONString(obj[k], &v, field); err != nil {
			return err
		}
		m.Config.TypeSummaries[k] = v
		m.Present = append(m.Present, field)
	}
	return nil
}

func readWebhook(fields map[string]json.RawMessage, m *messages.PutPushConfig) error {
	obj, err := object(fields, "webhook")
	if err != nil {
		return err
	}
	w := m.Config.Webhook
	if raw, ok := obj["url"]; ok {
		if err := readJSONString(raw, &w.Url, "webhook.url"); err != nil {
			return err
		}
		m.Present = append(m.Present, "webhook.url")
	}
	if raw, ok := obj["secret"]; ok {
		if err := readJSONString(raw, &w.Secret, "webhook.secret"); err != nil {
			return err
		}
		// A config read back and sent again carries the mask, which means
		// "keep the secret", not "set it to six asterisks".
		if w.Secret != messages.RedactedValue {
			m.Present = append(m.Present, "webhook.secret")
		}
	}
	if raw, ok := obj["events"]; ok {
		if isNull(raw) || json.Unmarshal(raw, &w.Events) != nil {
			return errInvalid("webhook.events")
		}
		m.Present = append(m.Present, "webhook.events")
	}
	return nil
}

func readRateLimits(fields map[string]json.RawMessage, m *messages.PutPushConfig) error {
	obj, err := object(fields, "rate_limits")
	if err != nil {
		return err
	}
	r := m.Config.RateLimits
	buckets := map[string]*int32{
		"settings": &r.Settings, "templates": &r.Templates,
		"statistics": &r.Statistics, "user": &r.User,
	}
	for _, name := range sortedKeys(buckets) {
		raw, ok := obj[name]
		if !ok {
			continue
		}
		field := "rate_limits." + name
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
			return errInvalid(field)
		}
		*buckets[name] = int32(n)
		m.Present = append(m.Present, field)
	}
	return nil
}

func readBuiltins(fields map[string]json.RawMessage, m *messages.PutPushConfig) error {
	obj, err := object(fields, "builtin_templates")
	if err != nil {
		return err
	}
	for _, name := range []string{"default", "detail"} {
		patterns, err := object(obj, name)
		if err != nil {
			return errInvalid("builtin_templates." + name)
		}
		if patterns == nil {
			continue
		}
		t := &messages.Template{Name: name}
		m.BuiltinTemplates[name] = t
		for _, p := range []struct {
			key string
			dst *string
		}{{"title_pattern", &t.TitlePattern}, {"content_pattern", &t.ContentPattern}} {
			raw, ok := patterns[p.key]
			if !ok {
				continue
			}
			field := "builtin_templates." + name + "." + p.key
			if err := readJSONString(raw, p.dst, field); err != nil {
				return err
			}
			m.Present = append(m.Present, field)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
