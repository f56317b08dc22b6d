package replay

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/drivetrain-cdc/drivetrain/actors"
)

// progress prints a replay's progress per topic and overall: offsets done
// of those between the start and end offsets listed when it began,
// events/s, ETA.
type progress struct {
	out          io.Writer
	prefix       string
	topics       []string
	starts, ends kadm.ListedOffsets
	began        time.Time
	// caughtUpAt is when report first found the replay caught up;
	// printed is when it last printed once caught up.
	caughtUpAt, printed time.Time
}

// figures is what report reads of the replay node.
type figures interface {
	Ready() bool
	Stats() actors.Stats
}

// report prints one progress line (once caught up, one every 30 s) and
// says whether the replay has caught up: every record below the end
// offsets listed at the start processed, its rows acknowledged by
// ClickHouse (for the order stream, the replay group's commits say so;
// for the global tables, the node's GlobalDone, which also counts the
// facts their changes refreshed), and the global tables' mirror rows sent.
// The database may go on writing, and the node with it, meanwhile.
func (p *progress) report(node figures, committed kadm.OffsetResponses) bool {
	st := node.Stats()
	caughtUp := node.Ready() && st.Snapshots == 0
	var doneAll, total int64
	var lines []string
	for _, topic := range p.topics {
		global := st.GlobalDone[topic]
		isGlobal := strings.HasSuffix(topic, ".customers") || strings.HasSuffix(topic, ".vehicles")
		var topicDone, topicTotal int64
		p.ends.Each(func(o kadm.ListedOffset) {
			if o.Topic != topic {
				return
			}
			s, _ := p.starts.Lookup(o.Topic, o.Partition)
			topicTotal += o.Offset - s.Offset
			at := s.Offset
			if isGlobal {
				at = max(at, global[o.Partition])
			} else if c, ok := committed.Lookup(o.Topic, o.Partition); ok && c.At > at {
				at = c.At
			}
			if at < o.Offset {
				caughtUp = false
			}
			topicDone += min(at, o.Offset) - s.Offset
		})
		doneAll += topicDone
		total += topicTotal
		lines = append(lines, fmt.Sprintf("%s %d/%d", strings.TrimPrefix(topic, p.prefix+".public."), topicDone, topicTotal))
	}
	now := time.Now()
	if caughtUp {
		if p.caughtUpAt.IsZero() {
			p.caughtUpAt = now
		} else if now.Sub(p.printed) < 30*time.Second {
			return true
		}
		p.printed = now
	}
	elapsed := now.Sub(p.began).Seconds()
	if !p.caughtUpAt.IsZero() {
		elapsed = p.caughtUpAt.Sub(p.began).Seconds()
	}
	rate := float64(doneAll) / max(elapsed, 1e-3)
	eta := "-"
	if rate > 0 && doneAll < total {
		eta = (time.Duration(float64(total-doneAll)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.out, "%s · overall %d/%d (%.0f%%) · %.0f events/s · ETA %s\n",
		strings.Join(lines, " · "), doneAll, total, 100*float64(doneAll)/float64(max(total, 1)), rate, eta)
	return caughtUp
}
