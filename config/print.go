package config

import (
	"log/slog"
	"strconv"
	"strings"
)

// String prints every setting as key=value on one line, in a fixed order,
// with secrets shown as "******".
func (c Config) String() string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.yamlKey())
		b.WriteByte('=')
		v := f.get(&c)
		if v == "" || strings.ContainsAny(v, " \t\"=") {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

// GoString keeps %#v from printing secrets.
func (c Config) GoString() string {
	return "config.Config{" + c.String() + "}"
}

// LogValue renders the config as a slog group with secrets redacted.
func (c Config) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(fields))
	for _, f := range fields {
		attrs = append(attrs, slog.String(f.yamlKey(), f.get(&c)))
	}
	return slog.GroupValue(attrs...)
}
