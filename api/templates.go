package api

import (
	"encoding/json"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
)

// templateJSON is a template as answered (SPEC.md §8.6).
type templateJSON struct {
	Name           string `json:"name"`
	TitlePattern   string `json:"title_pattern"`
	ContentPattern string `json:"content_pattern"`
	CreateAt       int64  `json:"createAt"`
	UpdateAt       int64  `json:"updateAt"`
}

func templateOf(t *messages.Template) templateJSON {
	return templateJSON{t.GetName(), t.GetTitlePattern(), t.GetContentPattern(),
		t.GetCreateAt(), t.GetUpdateAt()}
}

// readPatterns reads the optional pattern fields of a template body.
func readPatterns(fields map[string]json.RawMessage, m *messages.PutTemplate) error {
	for _, f := range []struct {
		name string
		dst  *string
		has  *bool
	}{
		{"title_pattern", &m.Template.TitlePattern, &m.HasTitle},
		{"content_pattern", &m.Template.ContentPattern, &m.HasContent},
	} {
		raw, ok := fields[f.name]
		if !ok {
			continue
		}
		if isNull(raw) || json.Unmarshal(raw, f.dst) != nil {
			return errInvalid(f.name)
		}
		*f.has = true
	}
	return nil
}

// handleCreateTemplate creates a template or overwrites one of the same
// name, keeping its createAt (§8.6).
func handleCreateTemplate(c *call) error {
	var fields map[string]json.RawMessage
	if _, err := c.decode(&fields); err != nil {
		return err
	}
	name, err := stringField(fields, "name")
	if err != nil {
		return err
	}
	m := &messages.PutTemplate{Template: &messages.Template{Name: name}, Create: true}
	if err := readPatterns(fields, m); err != nil {
		return err
	}
	if e := messages.ValidatePutTemplate(m); e != nil {
		return fromReply(e)
	}
	return c.answerTemplate(m)
}

// handleUpdateTemplate changes either or both patterns of a template.
func handleUpdateTemplate(c *call) error {
	name := c.params["name"]
	if !messages.ValidTemplateName(name) {
		return fromReply(messages.TemplateNotFound(name))
	}
	var fields map[string]json.RawMessage
	if _, err := c.decode(&fields); err != nil {
		return err
	}
	m := &messages.PutTemplate{Template: &messages.Template{Name: name}}
	if err := readPatterns(fields, m); err != nil {
		return err
	}
	if e := messages.ValidatePutTemplate(m); e != nil {
		return fromReply(e)
	}
	return c.answerTemplate(m)
}

func (c *call) answerTemplate(req proto.Message) error {
	reply, err := c.s.opts.Backend.AppRequest(c.ctx, c.appKey, req)
	r, err := expect[*messages.TemplateReply](c, reply, err)
	if err != nil {
		return err
	}
	c.data(templateOf(r.GetTemplate()))
	return nil
}

// handleGetTemplate reads a template from the app grain, so a read
// follows the caller's own preceding change.
func handleGetTemplate(c *call) error {
	name := c.params["name"]
	app, err := c.currentApp()
	if err != nil {
		return err
	}
	t := app.GetTemplates()[name]
	if t == nil {
		return fromReply(messages.TemplateNotFound(name))
	}
	c.data(templateOf(t))
	return nil
}

// handleDeleteTemplate removes a template and answers it; the built-ins
// cannot be deleted (§8.6).
func handleDeleteTemplate(c *call) error {
	name := c.params["name"]
	if name == "default" || name == "detail" {
		return errInvalid("name")
	}
	if !messages.ValidTemplateName(name) {
		return fromReply(messages.TemplateNotFound(name))
	}
	return c.answerTemplate(&messages.DeleteTemplate{Name: name})
}
