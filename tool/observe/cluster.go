package observe

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// ClusterStatus is what `drivetrain status --json` prints: the consumer
// group, its members and lag, and the nodes' own status documents.
type ClusterStatus struct {
	Group string `json:"group"`
	State string `json:"state"`
	// TotalLag is the group's lag on the order stream plus GlobalLag.
	TotalLag int64 `json:"total_lag"`
	// GlobalLag sums, over the nodes that answered, each node's lag on
	// the global tables (customers, vehicles), which every node reads
	// for itself.
	GlobalLag int64 `json:"global_lag"`
	// Idle: the group has no lag and every node given answered idle.
	Idle    bool            `json:"idle"`
	Members []MemberStatus  `json:"members"`
	Lag     []PartitionLag  `json:"lag"`
	Nodes   []NodeStatusErr `json:"nodes,omitempty"`
}

// MemberStatus is one member of the group and the partitions it owns.
type MemberStatus struct {
	MemberID   string           `json:"member_id"`
	ClientID   string           `json:"client_id"`
	Host       string           `json:"host"`
	Partitions map[string][]int `json:"partitions"`
	Lag        int64            `json:"lag"`
	// StateBytes is the disk space of the member's state store, from the
	// /status of the node whose id is the member's client id (absent when
	// that node is not among --nodes or its store is not open).
	StateBytes uint64 `json:"state_bytes,omitempty"`
}

// PartitionLag is the group's lag on one order-stream partition.
type PartitionLag struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"`
	End       int64  `json:"end"`
	Lag       int64  `json:"lag"`
	Member    string `json:"member,omitempty"`
}

// NodeStatusErr is one node's /status, or why it could not be read.
type NodeStatusErr struct {
	URL    string  `json:"url"`
	Error  string  `json:"error,omitempty"`
	Status *Status `json:"status,omitempty"`
}

// ReadCluster reads group's state, members and lag through adm, and the
// /status of each node in nodeURLs (an unreachable node is reported, not
// an error).
func ReadCluster(ctx context.Context, adm *kadm.Client, group string, nodeURLs []string) (*ClusterStatus, error) {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lags, err := adm.Lag(qctx, group)
	if err != nil {
		return nil, fmt.Errorf("reading group %s from kafka: %w", group, err)
	}
	gl, ok := lags[group]
	if !ok {
		return nil, fmt.Errorf("group %s not found", group)
	}
	if gl.DescribeErr != nil {
		return nil, fmt.Errorf("describing group %s: %w", group, gl.DescribeErr)
	}
	st := &ClusterStatus{Group: group, State: gl.State, TotalLag: max(gl.Lag.Total(), 0)}
	byMember := map[string]int{}
	for _, m := range gl.Members {
		ms := MemberStatus{MemberID: m.MemberID, ClientID: m.ClientID, Host: strings.TrimPrefix(m.ClientHost, "/"), Partitions: map[string][]int{}}
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range c.Topics {
				for _, p := range t.Partitions {
					ms.Partitions[t.Topic] = append(ms.Partitions[t.Topic], int(p))
				}
				sort.Ints(ms.Partitions[t.Topic])
			}
		}
		byMember[m.MemberID] = len(st.Members)
		st.Members = append(st.Members, ms)
	}
	for _, l := range gl.Lag.Sorted() {
		pl := PartitionLag{Topic: l.Topic, Partition: l.Partition, Committed: l.Commit.At, End: l.End.Offset, Lag: l.Lag}
		if l.Member != nil {
			pl.Member = l.Member.ClientID
			if i, ok := byMember[l.Member.MemberID]; ok && l.Lag > 0 {
				st.Members[i].Lag += l.Lag
			}
		}
		st.Lag = append(st.Lag, pl)
	}
	for _, u := range nodeURLs {
		ns, err := FetchStatus(qctx, u)
		n := NodeStatusErr{URL: u, Status: ns}
		if err != nil {
			n.Error = err.Error()
		}
		st.Nodes = append(st.Nodes, n)
	}
	attachStateSizes(st)
	addGlobalLag(st)
	return st, nil
}

// addGlobalLag adds the nodes' lag on the topics the group does not
// commit (the global tables) to st's totals, and sets Idle.
func addGlobalLag(st *ClusterStatus) {
	group := map[string]bool{}
	for _, l := range st.Lag {
		group[l.Topic] = true
	}
	st.Idle = st.TotalLag == 0
	for _, n := range st.Nodes {
		if n.Status == nil {
			st.Idle = false
			continue
		}
		st.Idle = st.Idle && n.Status.Idle
		for t, l := range n.Status.LagByTopic {
			if !group[t] {
				st.GlobalLag += l
			}
		}
	}
	st.TotalLag += st.GlobalLag
}

// attachStateSizes copies each reachable node's state size to the group
// member it is: the member whose client id is the node id (the group
// client of a node is named after it).
func attachStateSizes(st *ClusterStatus) {
	for _, n := range st.Nodes {
		if n.Status == nil || n.Status.State == nil {
			continue
		}
		for i := range st.Members {
			if st.Members[i].ClientID == n.Status.Node {
				st.Members[i].StateBytes = n.Status.State.DiskBytes
			}
		}
	}
}

// formatBytes renders n bytes with a binary unit (B, KiB, MiB, GiB, TiB).
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}

// WriteCluster prints st for people.
func WriteCluster(w io.Writer, st *ClusterStatus) {
	idle := ""
	if st.Idle && len(st.Nodes) > 0 {
		idle = ", idle"
	}
	fmt.Fprintf(w, "group %s: %s, %d member(s), total lag %d (global tables %d)%s\n", st.Group, st.State, len(st.Members), st.TotalLag, st.GlobalLag, idle)
	for _, m := range st.Members {
		var parts []string
		for t, ps := range m.Partitions {
			short := t[strings.LastIndex(t, ".")+1:]
			parts = append(parts, fmt.Sprintf("%s%v", short, ps))
		}
		sort.Strings(parts)
		if m.StateBytes > 0 {
			parts = append(parts, "state "+formatBytes(m.StateBytes))
		}
		fmt.Fprintf(w, "  %-28s %-15s lag %-8d %s\n", m.ClientID, m.Host, m.Lag, strings.Join(parts, " "))
	}
	var behind []string
	for _, l := range st.Lag {
		if l.Lag != 0 {
			behind = append(behind, fmt.Sprintf("%s[%d]=%d", l.Topic[strings.LastIndex(l.Topic, ".")+1:], l.Partition, l.Lag))
		}
	}
	if len(behind) > 0 {
		fmt.Fprintf(w, "partitions behind: %s\n", strings.Join(behind, " "))
	}
	for _, n := range st.Nodes {
		if n.Error != "" {
			fmt.Fprintf(w, "node %s: unreachable: %s\n", n.URL, n.Error)
			continue
		}
		s := n.Status
		state := "not ready (" + s.Reason + ")"
		if s.Ready {
			state = "ready"
		}
		if s.Idle {
			state += ", idle"
		}
		var written int64
		for _, v := range s.RowsWritten {
			written += v
		}
		var dlq int64
		for _, v := range s.DLQ {
			dlq += v
		}
		last := "never"
		if !s.LastCommit.IsZero() {
			last = time.Since(s.LastCommit).Round(time.Second).String() + " ago"
		}
		fmt.Fprintf(w, "node %s (%s): %s; lag %d%s, rows written %d (facts %d), sink backlog %d, dead letters %d, last commit %s, freshness p50 %.0f ms p99 %.0f ms (%d rows)\n",
			s.Node, n.URL, state, s.Lag, topicLags(s.LagByTopic), written, s.FactsWritten, s.SinkBacklog, dlq, last, s.Freshness.P50, s.Freshness.P99, s.Freshness.Count)
		if s.State != nil {
			fmt.Fprintf(w, "  state %s on disk (%s), compaction debt %s, read amplification %d\n",
				formatBytes(s.State.DiskBytes), stateShares(s.State), formatBytes(s.State.CompactionDebtBytes), s.State.ReadAmplification)
		}
	}
}

// topicLags lists the topics with lag by table name, e.g. " (customers
// 3, orders 12)", or "" when there is none.
func topicLags(lags map[string]int64) string {
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(lags)) {
		if lags[t] != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", t[strings.LastIndex(t, ".")+1:], lags[t]))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// stateShares describes the flushed bytes of the global tables and of
// each partition, e.g. "global 1.2 MiB, partitions 0=3.0 MiB 3=2.9 MiB".
func stateShares(s *StateStatus) string {
	if s.UsageError != "" {
		return "per-partition sizes unavailable: " + s.UsageError
	}
	out := "global " + formatBytes(s.GlobalBytes)
	if len(s.PartitionBytes) == 0 {
		return out + ", no partition state"
	}
	ps := slices.Sorted(maps.Keys(s.PartitionBytes))
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("%d=%s", p, formatBytes(s.PartitionBytes[p]))
	}
	return out + ", partitions " + strings.Join(parts, " ")
}
