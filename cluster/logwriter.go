package cluster

import (
	"context"
	"log"
	"log/slog"
	"strings"
)

// memberlistLogger returns a *log.Logger for memberlist that forwards each
// line to logger at the level memberlist wrote in its "[LEVEL]" prefix.
func memberlistLogger(logger *slog.Logger) *log.Logger {
	return log.New(slogWriter{logger: logger}, "", 0)
}

// slogWriter turns memberlist's printf-style lines into slog records.
type slogWriter struct {
	logger *slog.Logger
}

func (w slogWriter) Write(p []byte) (int, error) {
	level, msg := splitLevel(strings.TrimSpace(string(p)))
	w.logger.Log(context.Background(), level, msg, slog.String("component", "memberlist"))
	return len(p), nil
}

// splitLevel maps memberlist's "[DEBUG] memberlist: text" to a slog level
// and the bare text. Lines without a known prefix are kept whole at info.
func splitLevel(line string) (slog.Level, string) {
	prefixes := []struct {
		tag   string
		level slog.Level
	}{
		{"[DEBUG]", slog.LevelDebug},
		{"[INFO]", slog.LevelInfo},
		{"[WARN]", slog.LevelWarn},
		{"[ERR]", slog.LevelError},
		{"[ERROR]", slog.LevelError},
	}
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(line, p.tag); ok {
			rest = strings.TrimSpace(rest)
			rest = strings.TrimPrefix(rest, "memberlist: ")
			return p.level, rest
		}
	}
	return slog.LevelInfo, line
}
