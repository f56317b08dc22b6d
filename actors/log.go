package actors

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kgoLogger routes franz-go's log lines into zerolog (the kzerolog plugin
// is not available at a version compatible with franz-go v1.22). kgo's
// Info lines (joins, assignments, offset fetches) are frequent during
// rebalances, so they go out at Debug; warnings and errors as they are.
type kgoLogger struct{ log zerolog.Logger }

// Level implements kgo.Logger.
func (l kgoLogger) Level() kgo.LogLevel {
	switch lvl := l.log.GetLevel(); {
	case lvl <= zerolog.TraceLevel:
		return kgo.LogLevelDebug
	case lvl <= zerolog.DebugLevel:
		return kgo.LogLevelInfo
	case lvl <= zerolog.WarnLevel:
		return kgo.LogLevelWarn
	case lvl <= zerolog.ErrorLevel:
		return kgo.LogLevelError
	}
	return kgo.LogLevelNone
}

// Log implements kgo.Logger.
func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	var ev *zerolog.Event
	switch level {
	case kgo.LogLevelError:
		ev = l.log.Error()
	case kgo.LogLevelWarn:
		ev = l.log.Warn()
	case kgo.LogLevelInfo:
		ev = l.log.Debug()
	default:
		ev = l.log.Trace()
	}
	if ev == nil {
		return
	}
	for i := 0; i+1 < len(keyvals); i += 2 {
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		if err, ok := keyvals[i+1].(error); ok {
			ev = ev.AnErr(key, err)
			continue
		}
		ev = ev.Interface(key, keyvals[i+1])
	}
	ev.Msg(msg)
}

// slogHandler routes protoactor's log/slog lines into zerolog. protoactor
// logs its own life cycle and dead letters at Info, which is noise next
// to drivetrain's: slog Info goes out at Debug, Debug at Trace.
type slogHandler struct {
	log   zerolog.Logger
	attrs []slog.Attr
	group string
}

func newSlogLogger(log zerolog.Logger) *slog.Logger {
	return slog.New(&slogHandler{log: log})
}

func zerologLevel(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.ErrorLevel
	case l >= slog.LevelWarn:
		return zerolog.WarnLevel
	case l >= slog.LevelInfo:
		return zerolog.DebugLevel
	}
	return zerolog.TraceLevel
}

// Enabled implements slog.Handler.
func (h *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return zerologLevel(l) >= h.log.GetLevel() && zerologLevel(l) >= zerolog.GlobalLevel()
}

// Handle implements slog.Handler.
func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	ev := h.log.WithLevel(zerologLevel(r.Level))
	if ev == nil {
		return nil
	}
	add := func(a slog.Attr) bool {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		v := a.Value.Resolve()
		if err, ok := v.Any().(error); ok {
			ev = ev.AnErr(key, err)
		} else {
			ev = ev.Interface(key, v.Any())
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	ev.Msg(r.Message)
	return nil
}

// WithAttrs implements slog.Handler.
func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

// WithGroup implements slog.Handler.
func (h *slogHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

// pebbleLogger routes Pebble's log lines (through state.Options.Logger)
// into zerolog: Info at Debug, errors as they are.
type pebbleLogger struct{ log zerolog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) { l.log.Debug().Msgf(format, args...) }

func (l pebbleLogger) Errorf(format string, args ...any) { l.log.Error().Msgf(format, args...) }
