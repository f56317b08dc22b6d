package topology

import "testing"

func TestOrderPartition(t *testing.T) {
	// Expected values follow Java: (int)(v ^ (v >>> 32)) & Integer.MAX_VALUE,
	// MAX_VALUE mapped to 0, modulo the partition count.
	tests := []struct {
		id         int64
		partitions int32
		want       int32
	}{
		{0, 6, 0},
		{1, 6, 1},
		{5, 6, 5},
		{6, 6, 0},
		{1234567, 6, 1234567 % 6},
		{1 << 32, 6, 1},                          // high word folds into the low word
		{(1 << 32) + 1, 6, 0},                    // 1 ^ 1
		{-1, 6, 0},                               // 0xffffffff ^ 0xffffffff = 0
		{0x7fffffff, 6, 0},                       // Integer.MAX_VALUE maps to 0
		{0x80000000, 6, 0},                       // sign bit cleared: 0
		{0x80000005, 6, 5},                       // sign bit cleared: 5
		{9007199254740993, 6, (2097152 ^ 1) % 6}, // 2^53+1: high word 0x200000
		{42, 1, 0},
	}
	for _, tt := range tests {
		if got := OrderPartition(tt.id, tt.partitions); got != tt.want {
			t.Errorf("OrderPartition(%d, %d) = %d, want %d", tt.id, tt.partitions, got, tt.want)
		}
	}
}
