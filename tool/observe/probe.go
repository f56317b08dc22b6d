package observe

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/sinks"
)

// Probe checks that one service the node depends on answers.
type Probe struct {
	// Name names the service in reasons ("clickhouse", "kafka").
	Name string
	// Check returns nil when the service answered; it should be cheap
	// (a ping, a metadata request).
	Check func(ctx context.Context) error
}

// ClickHouseProbe checks that ClickHouse answers a query through c.
func ClickHouseProbe(c *sinks.Client) Probe {
	return Probe{Name: "clickhouse", Check: func(ctx context.Context) error {
		_, err := c.Query(ctx, "SELECT toString(1)", 1)
		return err
	}}
}

// KafkaProbe checks that a broker answers through cl (kgo.Client.Ping:
// an ApiVersions request to a known broker, never a cached answer).
func KafkaProbe(cl *kgo.Client) Probe {
	return Probe{Name: "kafka", Check: cl.Ping}
}

// Prober runs its probes periodically and remembers, per probe, since
// when it has failed without a success in between. Safe for concurrent
// use.
type Prober struct {
	probes   []Probe
	interval time.Duration
	timeout  time.Duration
	now      func() time.Time

	mu    sync.Mutex
	state map[string]*probeState
}

type probeState struct {
	failingSince time.Time // zero: the last check succeeded
	err          error
}

// NewProber runs probes every interval (default 5s when not positive),
// each with at most interval to answer.
func NewProber(interval time.Duration, probes ...Probe) *Prober {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	return &Prober{probes: probes, interval: interval, timeout: interval, now: time.Now, state: map[string]*probeState{}}
}

// Run checks at once, then every interval, until ctx ends. Probes run one
// after the other, so a slow one delays the next round, never overlaps.
func (p *Prober) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		p.CheckNow(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckNow runs every probe once and records the results.
func (p *Prober) CheckNow(ctx context.Context) {
	for _, pr := range p.probes {
		cctx, cancel := context.WithTimeout(ctx, p.timeout)
		err := pr.Check(cctx)
		cancel()
		if ctx.Err() != nil {
			return // stopping: a cancelled check says nothing of the service
		}
		p.record(pr.Name, err)
	}
}

func (p *Prober) record(name string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state[name]
	if st == nil {
		st = &probeState{}
		p.state[name] = st
	}
	switch {
	case err == nil:
		st.failingSince, st.err = time.Time{}, nil
	case st.failingSince.IsZero():
		st.failingSince, st.err = p.now(), err
	default:
		st.err = err
	}
}

// Unreachable returns why the node should not be ready: the first probe
// (in the order given) that has failed for threshold or longer, with how
// long and its last error; "" when there is none. A nil Prober or a
// threshold of 0 finds nothing.
func (p *Prober) Unreachable(threshold time.Duration) string {
	if p == nil || threshold <= 0 {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for _, pr := range p.probes {
		st := p.state[pr.Name]
		if st == nil || st.failingSince.IsZero() {
			continue
		}
		if d := now.Sub(st.failingSince); d >= threshold {
			return fmt.Sprintf("%s unreachable for %s (ready_max_unreachable %s): %v", pr.Name, d.Round(time.Second), threshold, st.err)
		}
	}
	return ""
}
