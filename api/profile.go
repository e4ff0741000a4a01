package api

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"

	"github.com/herald-im/herald/messages"
)

// userJSON is a user entity of PUT/GET /users/{u} (SPEC.md §11.4).
type userJSON struct {
	UUID         string `json:"uuid"`
	Type         string `json:"type"`
	Created      int64  `json:"created"`
	Modified     int64  `json:"modified"`
	Username     string `json:"username"`
	Activated    bool   `json:"activated"`
	Nickname     string `json:"nickname,omitempty"`
	DisplayStyle int32  `json:"notification_display_style"`
}

func userEntity(appKey, user string, rec *messages.UserRecord) userJSON {
	id := rec.GetUuid()
	if id == "" {
		id = userUUID(appKey, user)
	}
	return userJSON{
		UUID:         id,
		Type:         "user",
		Created:      rec.GetCreated(),
		Modified:     rec.GetModified(),
		Username:     user,
		Activated:    true,
		Nickname:     rec.GetNickname(),
		DisplayStyle: rec.GetDisplayStyle(),
	}
}

// userUUID names a user by a stable name-based UUID (version 5 layout) of
// its appkey and id: users are never registered (SPEC.md §1), so there is
// no creation at which to draw a random one.
func userUUID(appKey, user string) string {
	sum := sha1.Sum([]byte(appKey + "/" + user))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-")
}

// handlePutUser changes the push nickname and the display style (§8.1).
func handlePutUser(c *call) error {
	var fields map[string]json.RawMessage
	if _, err := c.decode(&fields); err != nil {
		return err
	}
	m := &messages.PutUserProfile{}
	if raw, ok := fields["nickname"]; ok && !isNull(raw) {
		if json.Unmarshal(raw, &m.Nickname) != nil {
			return errInvalid("nickname")
		}
		m.HasNickname = true
	}
	if raw, ok := fields["notification_display_style"]; ok && !isNull(raw) {
		style, ok := displayStyle(raw)
		if !ok {
			return errInvalid("notification_display_style")
		}
		m.DisplayStyle, m.HasDisplayStyle = style, true
	}
	if e := messages.ValidatePutUserProfile(m); e != nil {
		return fromReply(e)
	}
	rec, err := c.userRecord(m)
	if err != nil {
		return err
	}
	c.entities([]userJSON{userEntity(c.appKey, c.params["u"], rec)})
	return nil
}

// displayStyle reads 0, 1, "0" or "1" (§8.1).
func displayStyle(raw json.RawMessage) (int32, bool) {
	switch strings.TrimSpace(string(raw)) {
	case `0`, `"0"`:
		return 0, true
	case `1`, `"1"`:
		return 1, true
	}
	return 0, false
}

func handleGetUser(c *call) error {
	rec, err := c.userRecord(&messages.GetUser{})
	if err != nil {
		return err
	}
	c.entities([]userJSON{userEntity(c.appKey, c.params["u"], rec)})
	return nil
}

type nicknameJSON struct {
	Username string `json:"username"`
	Nickname string `json:"push_nickname"`
}

// handlePutNicknames sets the push nicknames of up to 50 users, all or
// nothing (§11.4): the whole batch is validated before any user's grain
// is asked to change.
//
// TODO: the writes go to one grain per user, so a node failing halfway
// through leaves the first users changed and the rest not; making the
// batch atomic across grains needs a cluster-wide transaction (issue 4).
// The caller gets no 200 then and may resubmit: each write is idempotent.
func handlePutNicknames(c *call) error {
	entries, err := c.readNicknames()
	if err != nil {
		return err
	}
	out := make([]nicknameJSON, 0, len(entries))
	for _, e := range entries {
		reply, err := c.s.opts.Backend.UserRequest(c.ctx, c.appKey, e.Username,
			&messages.PutUserProfile{HasNickname: true, Nickname: e.Nickname})
		r, err := expect[*messages.UserReply](c, reply, err)
		if err != nil {
			return err
		}
		out = append(out, nicknameJSON{e.Username, r.GetUser().GetNickname()})
	}
	c.entities(out)
	return nil
}

// readNicknames decodes and validates the whole batch.
func (c *call) readNicknames() ([]messages.NicknameEntry, error) {
	raw, err := io.ReadAll(c.r.Body)
	if err != nil {
		return nil, errInvalid("body")
	}
	var list []map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &list) != nil {
		return nil, errInvalid("body")
	}
	// Count first, so an empty or oversized batch gets its own error
	// whatever its entries hold.
	if len(list) == 0 || len(list) > messages.MaxNicknameBatch {
		return nil, fromReply(messages.ValidateNicknameBatch(
			make([]messages.NicknameEntry, len(list))))
	}
	entries := make([]messages.NicknameEntry, 0, len(list))
	for _, item := range list {
		var e messages.NicknameEntry
		if json.Unmarshal(item["username"], &e.Username) != nil {
			return nil, errInvalid("username")
		}
		if json.Unmarshal(item["push_nickname"], &e.Nickname) != nil {
			return nil, errInvalid("push_nickname")
		}
		e.Username = strings.ToLower(e.Username)
		entries = append(entries, e)
	}
	if e := messages.ValidateNicknameBatch(entries); e != nil {
		return nil, fromReply(e)
	}
	return entries, nil
}
