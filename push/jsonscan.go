package push

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file walks JSON text that json.Valid has already accepted. Walking
// by hand keeps member order (needed for the custom key e) and lets each
// push-control key with the wrong JSON type count as absent (SPEC.md §2.2)
// instead of failing the whole ext, which typed decoding would do. Every
// loop is bounds-checked, so even text that was not validated cannot make
// it panic or spin.

// kindOf returns the first byte of a JSON value: '{', '[', '"', 't', 'f',
// 'n', or a digit or '-' for numbers; 0 for empty input.
func kindOf(v []byte) byte {
	i := skipSpace(v, 0)
	if i >= len(v) {
		return 0
	}
	return v[i]
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[j])) {
		j++
	}
	if j == i {
		return i + 1
	}
	return j
}

// eachMember calls fn with every member of the JSON object obj, in order.
// It does nothing when obj is not an object.
func eachMember(obj []byte, fn func(key string, val []byte)) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return
	}
	i++
	for i < len(obj) {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] == '}' {
			return
		}
		if obj[i] == ',' {
			i++
			continue
		}
		if obj[i] != '"' {
			return
		}
		end := skipString(obj, i)
		key := decodeString(obj[i:end])
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return
		}
		i = skipSpace(obj, i+1)
		vend := skipValue(obj, i)
		fn(key, obj[i:vend])
		i = vend
	}
}

// eachElement calls fn with every element of the JSON array arr, in order.
func eachElement(arr []byte, fn func(val []byte)) {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return
	}
	i++
	for i < len(arr) {
		i = skipSpace(arr, i)
		if i >= len(arr) || arr[i] == ']' {
			return
		}
		if arr[i] == ',' {
			i++
			continue
		}
		end := skipValue(arr, i)
		fn(arr[i:end])
		i = end
	}
}

// decodeString decodes the quoted JSON string q; "" when q is no string.
func decodeString(q []byte) string {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return ""
	}
	inner := q[1 : len(q)-1]
	plain := utf8.Valid(inner)
	for _, c := range inner {
		if c == '\\' || c < 0x20 {
			plain = false
			break
		}
	}
	if plain {
		return string(inner)
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return ""
	}
	return s
}

// stringValue returns v as a string when v is a JSON string.
func stringValue(v []byte) (string, bool) {
	v = trimSpace(v)
	if kindOf(v) != '"' {
		return "", false
	}
	return decodeString(v), true
}

// flagValue applies SPEC.md §2.3: JSON true, a string equal to "true"
// ignoring case, or exactly "YES".
func flagValue(v []byte) bool {
	v = trimSpace(v)
	if string(v) == "true" {
		return true
	}
	s, ok := stringValue(v)
	return ok && (strings.EqualFold(s, "true") || s == "YES")
}

// intValue returns v when it is a JSON integer (no fraction or exponent).
func intValue(v []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(trimSpace(v)), 10, 64)
	return n, err == nil
}

// argText renders one template argument (SPEC.md §8.4): strings as they
// are, numbers and booleans as their JSON text, anything else "".
func argText(v []byte) string {
	v = trimSpace(v)
	switch kindOf(v) {
	case '"':
		return decodeString(v)
	case '{', '[', 'n', 0:
		return ""
	}
	return string(v)
}

func trimSpace(v []byte) []byte {
	i := skipSpace(v, 0)
	j := len(v)
	for j > i && (v[j-1] == ' ' || v[j-1] == '\t' || v[j-1] == '\n' || v[j-1] == '\r') {
		j--
	}
	return v[i:j]
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// the output is always valid JSON.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// stringLen is len(appendString(nil, s)) without building it.
func stringLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
				n += 2
			case c < 0x20:
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			n += 6
		} else {
			n += size
		}
		i += size
	}
	return n
}
