package httpserv

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// ErrLogLevel reports a log level other than debug, info, warn or error.
var ErrLogLevel = errors.New("httpserv: unknown log level")

// LogLevels are the names [ParseLogLevel] accepts, lowest first.
var LogLevels = []string{"debug", "info", "warn", "error"}

// ParseLogLevel reads one of [LogLevels] (case-insensitive). slog's own
// parser also takes forms such as "info+2"; an operator's flag takes only
// the four names the documentation lists.
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%w %q (want %s)", ErrLogLevel, s, strings.Join(LogLevels, ", "))
}

// NewLogger returns the services' logger: JSON lines on w at level and above.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
