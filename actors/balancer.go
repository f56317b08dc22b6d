package actors

import (
	"maps"
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// balancerProtocol names the group protocol of copartitionBalancer. Every
// member of a drivetrain group must use it.
const balancerProtocol = "drivetrain-copartitioned"

// copartitionBalancer is a cooperative, sticky group balancer that
// assigns partition numbers rather than topic partitions: partition n of
// every subscribed topic (orders, order_items and payments) goes to the
// same member, because one partition actor joins the three. Kafka's
// cooperative-sticky balancer places topic partitions independently and
// would split them.
//
// Numbers stay with their current owner while it has room (members own
// ⌊N/M⌋ or ⌈N/M⌉ numbers), the rest go to the members with the fewest.
// A number that moves is first revoked from its owner and assigned to the
// new one in the next round (kgo's BalancePlan.AdjustCooperative, which
// works per topic partition and so moves a number's three partitions
// together), as KIP-429 cooperative rebalancing requires.
type copartitionBalancer struct{}

var _ kgo.GroupBalancer = copartitionBalancer{}

// ProtocolName implements kgo.GroupBalancer.
func (copartitionBalancer) ProtocolName() string { return balancerProtocol }

// IsCooperative implements kgo.GroupBalancer.
func (copartitionBalancer) IsCooperative() bool { return true }

// JoinGroupMetadata implements kgo.GroupBalancer: the consumer protocol's
// member metadata with the owned partitions (version 2).
func (copartitionBalancer) JoinGroupMetadata(interests []string, current map[string][]int32, generation int32) []byte {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Version = 2
	meta.Topics = interests
	meta.Generation = generation
	for _, topic := range slices.Sorted(maps.Keys(current)) {
		op := kmsg.NewConsumerMemberMetadataOwnedPartition()
		op.Topic = topic
		op.Partitions = current[topic]
		meta.OwnedPartitions = append(meta.OwnedPartitions, op)
	}
	return meta.AppendTo(nil)
}

// ParseSyncAssignment implements kgo.GroupBalancer.
func (copartitionBalancer) ParseSyncAssignment(assignment []byte) (map[string][]int32, error) {
	return kgo.ParseConsumerSyncAssignment(assignment)
}

// MemberBalancer implements kgo.GroupBalancer.
func (b copartitionBalancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	cb, err := kgo.NewConsumerBalancer(b, members)
	if err != nil {
		return nil, nil, err
	}
	return cb, cb.MemberTopics(), nil
}

// Balance implements kgo.ConsumerBalancerBalance.
func (copartitionBalancer) Balance(cb *kgo.ConsumerBalancer, topics map[string]int32) kgo.IntoSyncAssignment {
	type member struct {
		m     *kmsg.JoinGroupResponseMember
		owned []int32 // numbers it claims, ascending
		got   []int32
	}
	var members []*member
	var subscribed []string // topics every member's numbers cover
	seen := map[string]bool{}
	// The highest generation claiming each number wins (a member that
	// missed rebalances may still claim what others own now).
	claim := map[int32]int32{}
	claimer := map[int32]*member{}
	cb.EachMember(func(m *kmsg.JoinGroupResponseMember, meta *kmsg.ConsumerMemberMetadata) {
		mem := &member{m: m}
		members = append(members, mem)
		for _, t := range meta.Topics {
			if _, ok := topics[t]; ok && !seen[t] {
				seen[t] = true
				subscribed = append(subscribed, t)
			}
		}
		nums := map[int32]bool{}
		for _, op := range meta.OwnedPartitions {
			for _, p := range op.Partitions {
				nums[p] = true
			}
		}
		for p := range nums {
			if g, ok := claim[p]; !ok || meta.Generation > g {
				claim[p], claimer[p] = meta.Generation, mem
			}
		}
	})
	slices.Sort(subscribed)
	// Numbers: partitions present in every subscribed topic.
	var n int32 = -1
	for _, t := range subscribed {
		if n < 0 || topics[t] < n {
			n = topics[t]
		}
	}
	plan := cb.NewPlan()
	if n <= 0 || len(members) == 0 {
		return plan
	}
	for p, mem := range claimer {
		if p < n {
			mem.owned = append(mem.owned, p)
		}
	}
	for _, mem := range members {
		slices.Sort(mem.owned)
	}
	base, extra := int(n)/len(members), int(n)%len(members)
	taken := make([]bool, n)
	// Keep owned numbers up to the base quota, then let the members that
	// own the most keep one more while extra slots last.
	for _, mem := range members {
		for _, p := range mem.owned {
			if len(mem.got) < base && !taken[p] {
				taken[p] = true
				mem.got = append(mem.got, p)
			}
		}
	}
	byOwned := slices.Clone(members)
	sort.SliceStable(byOwned, func(i, j int) bool { return len(byOwned[i].owned) > len(byOwned[j].owned) })
	for _, mem := range byOwned {
		if extra == 0 {
			break
		}
		for _, p := range mem.owned {
			if !taken[p] && len(mem.got) == base {
				taken[p] = true
				mem.got = append(mem.got, p)
				extra--
				break
			}
		}
	}
	// The rest go to the members with the fewest.
	for p := int32(0); p < n; p++ {
		if taken[p] {
			continue
		}
		var best *member
		for _, mem := range members {
			room := len(mem.got) < base || (len(mem.got) == base && extra > 0)
			if room && (best == nil || len(mem.got) < len(best.got)) {
				best = mem
			}
		}
		if len(best.got) == base {
			extra--
		}
		taken[p] = true
		best.got = append(best.got, p)
	}
	for _, mem := range members {
		slices.Sort(mem.got)
		for _, t := range subscribed {
			plan.AddPartitions(mem.m, t, mem.got)
		}
	}
	plan.AdjustCooperative(cb)
	return plan
}
