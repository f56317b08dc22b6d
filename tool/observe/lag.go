package main

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// lagWatcher measures the consumer group's lag on the order-stream topics
// once a second: the sum over partitions of end offset minus committed
// offset (offsets commit only after ClickHouse acknowledged the rows, so
// lag 0 means everything read so far is in ClickHouse).
type lagWatcher struct {
	adm    *kadm.Client
	group  string
	topics []string

	mu         sync.Mutex
	lag        int64
	perPart    map[string]map[int32]int64
	measured   bool
	err        error
	lastCommit time.Time
	committed  int64
}

func newLagWatcher(opts []kgo.Opt, group string, topics []string) (*lagWatcher, *kgo.Client, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, nil, err
	}
	return &lagWatcher{adm: kadm.NewClient(cl), group: group, topics: topics}, cl, nil
}

func (w *lagWatcher) run(ctx context.Context) {
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

func (w *lagWatcher) measure(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ends, err := w.adm.ListEndOffsets(ctx, w.topics...)
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
	var total, sumCommitted int64
	per := map[string]map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
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
	w.lag, w.perPart, w.measured = total, per, true
}

// snapshot returns the last measured lag, whether one was measured, and
// the error of the last attempt.
func (w *lagWatcher) snapshot() (lag int64, measured bool, lastCommit time.Time, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lag, w.measured, w.lastCommit, w.err
}
