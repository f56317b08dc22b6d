package actors

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var balTopics = []string{"p.public.order_items", "p.public.orders", "p.public.payments"}

// balance runs the balancer over members (id → numbers owned in every
// topic) and returns what each member is assigned, as numbers, checking
// that a member gets the same numbers in every topic.
func balance(t *testing.T, counts map[string]int32, owned map[string][]int32) map[string][]int32 {
	t.Helper()
	var members []kmsg.JoinGroupResponseMember
	ids := make([]string, 0, len(owned))
	for id := range owned {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		cur := map[string][]int32{}
		if len(owned[id]) > 0 {
			for _, tp := range balTopics {
				cur[tp] = owned[id]
			}
		}
		members = append(members, kmsg.JoinGroupResponseMember{
			MemberID:         id,
			ProtocolMetadata: copartitionBalancer{}.JoinGroupMetadata(balTopics, cur, 3),
		})
	}
	mb, topics, err := copartitionBalancer{}.MemberBalancer(members)
	require.NoError(t, err)
	assert.Len(t, topics, 3)
	plan, err := mb.(*kgo.ConsumerBalancer).BalanceOrError(counts)
	require.NoError(t, err)
	got := map[string][]int32{}
	for _, a := range plan.IntoSyncAssignment() {
		parsed, err := kgo.ParseConsumerSyncAssignment(a.MemberAssignment)
		require.NoError(t, err)
		var nums []int32
		for i, tp := range balTopics {
			ps := slices.Clone(parsed[tp])
			slices.Sort(ps)
			if i == 0 {
				nums = ps
				continue
			}
			assert.Equal(t, nums, ps, "member %s: %s differs from %s", a.MemberID, tp, balTopics[0])
		}
		got[a.MemberID] = nums
	}
	return got
}

func TestCopartitionBalancer(t *testing.T) {
	six := map[string]int32{balTopics[0]: 6, balTopics[1]: 6, balTopics[2]: 6}
	tests := []struct {
		name   string
		counts map[string]int32
		owned  map[string][]int32
		want   map[string][]int32
	}{
		{
			name:   "fresh group",
			counts: six,
			owned:  map[string][]int32{"a": nil, "b": nil, "c": nil},
			want:   map[string][]int32{"a": {0, 3}, "b": {1, 4}, "c": {2, 5}},
		},
		{
			// Cooperative: what moves is only revoked in this round.
			name:   "members join an owner",
			counts: six,
			owned:  map[string][]int32{"a": {0, 1, 2, 3, 4, 5}, "b": nil, "c": nil},
			want:   map[string][]int32{"a": {0, 1}, "b": nil, "c": nil},
		},
		{
			name:   "second round after the revoke",
			counts: six,
			owned:  map[string][]int32{"a": {0, 1}, "b": nil, "c": nil},
			want:   map[string][]int32{"a": {0, 1}, "b": {2, 4}, "c": {3, 5}},
		},
		{
			name:   "a member left",
			counts: six,
			owned:  map[string][]int32{"a": {0, 1}, "b": {2, 3}},
			want:   map[string][]int32{"a": {0, 1, 4}, "b": {2, 3, 5}},
		},
		{
			name:   "sticky when balanced",
			counts: six,
			owned:  map[string][]int32{"a": {1, 5}, "b": {0, 2}, "c": {3, 4}},
			want:   map[string][]int32{"a": {1, 5}, "b": {0, 2}, "c": {3, 4}},
		},
		{
			name:   "unequal counts: only common numbers",
			counts: map[string]int32{balTopics[0]: 3, balTopics[1]: 2, balTopics[2]: 3},
			owned:  map[string][]int32{"a": nil},
			want:   map[string][]int32{"a": {0, 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := balance(t, tt.counts, tt.owned)
			for id, want := range tt.want {
				assert.Equal(t, want, got[id], "member %s", id)
			}
		})
	}
}
