package bench

import (
	"fmt"
	"io"
	"time"
)

// progress prints one updating line on stderr per phase: what is done,
// of how much, and when the phase should end at the rate so far.
type progress struct {
	w     io.Writer
	tty   bool
	name  string
	total int64
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, tty bool, name string, total int64) *progress {
	now := time.Now()
	return &progress{w: w, tty: tty, name: name, total: total, start: now, last: now.Add(-time.Hour)}
}

// update reports done of total; it prints at most twice a second (every
// 10 s without a terminal).
func (p *progress) update(done int64) {
	now := time.Now()
	every := 500 * time.Millisecond
	if !p.tty {
		every = 10 * time.Second
	}
	if now.Sub(p.last) < every {
		return
	}
	p.last = now
	line := p.name + ": " + count(done)
	if p.total > 0 {
		line += " of " + count(p.total)
		if done > 0 && done < p.total {
			el := now.Sub(p.start)
			eta := time.Duration(float64(el) * float64(p.total-done) / float64(done))
			line += fmt.Sprintf(" (%.0f%%), ETA %v", 100*float64(done)/float64(p.total), eta.Round(time.Second))
		}
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// done ends the phase's line.
func (p *progress) done(summary string) {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "%s: %s\n", p.name, summary)
}

// count formats n with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
