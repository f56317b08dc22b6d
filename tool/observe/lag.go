package observe

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// LagWatcher measures, once a second, the consumer group's lag on the
// order-stream topics (the sum over partitions of end offset minus
// committed offset; offsets commit only after ClickHouse acknowledged the
// rows, so lag 0 means everything read so far is in ClickHouse) and the
// end offsets of the global topics, whose lag depends on the node
// (Source subtracts actors.Stats.GlobalDone). Safe for concurrent use.
type LagWatcher struct {
	adm          *kadm.Client
	group        string
	topics       []string
	globalTopics []string

	mu         sync.Mutex
	lag        int64
	perPart    map[string]map[int32]int64
	globalEnds map[string]map[int32]int64
	measuredAt time.Time
	err        error
	lastCommit time.Time
	committed  int64
}

// NewLagWatcher watches group's lag on topics (the order stream) and the
// end offsets of globalTopics (customers, vehicles) through adm.
func NewLagWatcher(adm *kadm.Client, group string, topics, globalTopics []string) *LagWatcher {
	return &LagWatcher{adm: adm, group: group, topics: topics, globalTopics: globalTopics}
}

// Run measures once a second until ctx ends.
func (w *LagWatcher) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		w.measure(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *LagWatcher) measure(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ends, err := w.adm.ListEndOffsets(ctx, append(append([]string(nil), w.topics...), w.globalTopics...)...)
	if err == nil {
		err = ends.Error()
	}
	var committed kadm.OffsetResponses
	if err == nil {
		committed, err = w.adm.FetchOffsets(ctx, w.group)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.err = err
	if err != nil {
		return
	}
	global := map[string]bool{}
	for _, t := range w.globalTopics {
		global[t] = true
	}
	var total, sumCommitted int64
	per := map[string]map[int32]int64{}
	globalEnds := map[string]map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if global[o.Topic] {
			if globalEnds[o.Topic] == nil {
				globalEnds[o.Topic] = map[int32]int64{}
			}
			globalEnds[o.Topic][o.Partition] = o.Offset
			return
		}
		c, ok := committed.Lookup(o.Topic, o.Partition)
		at := int64(0)
		if ok && c.Err == nil && c.At >= 0 {
			at = c.At
		}
		lag := max(o.Offset-at, 0)
		if per[o.Topic] == nil {
			per[o.Topic] = map[int32]int64{}
		}
		per[o.Topic][o.Partition] = lag
		total += lag
		sumCommitted += at
	})
	if sumCommitted != w.committed {
		w.committed, w.lastCommit = sumCommitted, time.Now()
	}
	w.lag, w.perPart, w.globalEnds, w.measuredAt = total, per, globalEnds, time.Now()
}

// snapshot returns the last measured group lag, when it was measured
// (zero: never), when the group last committed, and the error of the
// last attempt.
func (w *LagWatcher) snapshot() (lag int64, measuredAt, lastCommit time.Time, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lag, w.measuredAt, w.lastCommit, w.err
}

// partitionLags returns a copy of the last measured group lag by topic
// and partition.
func (w *LagWatcher) partitionLags() map[string]map[int32]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]map[int32]int64, len(w.perPart))
	for t, parts := range w.perPart {
		out[t] = maps.Clone(parts)
	}
	return out
}

// globalLags returns, per global topic and partition, the last measured
// end offset minus done (actors.Stats.GlobalDone; a partition missing
// from it has done nothing).
func (w *LagWatcher) globalLags(done map[string]map[int32]int64) map[string]map[int32]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]map[int32]int64, len(w.globalEnds))
	for t, parts := range w.globalEnds {
		out[t] = make(map[int32]int64, len(parts))
		for p, end := range parts {
			out[t][p] = max(end-done[t][p], 0)
		}
	}
	return out
}
