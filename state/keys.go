package state

import (
	"encoding/binary"
	"errors"
)

// The key layout (see the package doc). Every key starts with a range
// byte; ids are 8 bytes big-endian with the sign bit flipped, so keys sort
// like the ids; partition numbers are 4 bytes big-endian.
const (
	rangeMeta      = 'm' // 'm' name
	rangeGlobal    = 'g' // 'g' kind ...
	rangePartition = 'p' // 'p' partition(4) kind ...

	kindCustomer = 'C' // g C id
	kindVehicle  = 'V' // g V id
	kindFeatures = 'F' // g F id → vehicles.features text (see appendVehicle)

	kindOrder      = 'O' // p n O order
	kindItem       = 'I' // p n O order I item (see childKey)
	kindPayment    = 'P' // p n O order P payment
	kindCustOrders = 'c' // p n c customer order → ∅ (index)
	kindVehItems   = 'v' // p n v vehicle order item → ∅ (index)
	kindFactClock  = 'f' // p n f → uvarint highest fact version emitted

	kindOffset = 'o' // g o topic 0 partition(4) / p n o topic 0 partition(4) → uvarint next offset
)

// metaFormat is the key of the layout version; formatVersion the version
// this code writes and reads.
var metaFormat = []byte{rangeMeta, 'f', 'o', 'r', 'm', 'a', 't'}

const formatVersion = 5

// formatUpgradable lists the layout versions a store is upgraded from in
// place when opened: layout 4 lacked the orders' past months, which
// layout 5 adds as an optional trailer of the order's value.
var formatUpgradable = []byte{4}

// childKey returns the key of an item or payment (kind), clustered under
// its order's key: an order's rows are neighbours, mostly in one block.
func childKey(b []byte, p int32, order int64, kind byte, id int64) []byte {
	return appendID(append(partKey(b, p, kindOrder, order), kind), id)
}

// childKind returns the kind of the row whose key follows an order key's
// kind byte with rest: 0 for the order's own row, kindItem or kindPayment
// for its children, and 1 for anything else.
func childKind(rest []byte) byte {
	switch {
	case len(rest) == 8:
		return 0
	case len(rest) == 17 && (rest[8] == kindItem || rest[8] == kindPayment):
		return rest[8]
	}
	return 1
}

// split is the comparer's Split: the part of a key its bloom filters hold.
// An order's keys (its row, items and payments) and the entries of the two
// indexes are filtered by their group's prefix, partition + kind + the
// first id, so that a prefix scan (an order's rows, a customer's orders)
// can skip every table whose filter lacks the group; every other key is
// its own prefix. The prefixes of one kind have one length and keys of
// different kinds differ before it ends, so comparing prefixes bytewise
// orders keys as comparing the whole keys does, as Pebble requires.
func split(k []byte) int {
	if n, ok := groupPrefixLen(k); ok {
		return min(n, len(k))
	}
	return len(k)
}

// groupPrefixLen returns the length of the bloom prefix of the keys of k's
// kind, and false for kinds whose keys are their own prefix.
func groupPrefixLen(k []byte) (int, bool) {
	const n = 1 + 4 + 1 + 8 // 'p' partition kind id
	if len(k) < 6 || k[0] != rangePartition {
		return 0, false
	}
	switch k[5] {
	case kindOrder, kindCustOrders, kindVehItems:
		return n, true
	}
	return 0, false
}

// inGroup reports whether every key with the given prefix has one bloom
// prefix, so that a scan can seek it with SeekPrefixGE.
func inGroup(prefix []byte) bool {
	n, ok := groupPrefixLen(prefix)
	return ok && n <= len(prefix)
}

func appendID(b []byte, id int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(id)^(1<<63))
}

func readID(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

func globalKey(b []byte, kind byte, id int64) []byte {
	return appendID(append(b, rangeGlobal, kind), id)
}

// partitionPrefix returns the prefix of every key of partition p.
func partitionPrefix(b []byte, p int32) []byte {
	return binary.BigEndian.AppendUint32(append(b, rangePartition), uint32(p))
}

// partKey returns partition prefix + kind + ids.
func partKey(b []byte, p int32, kind byte, ids ...int64) []byte {
	b = append(partitionPrefix(b, p), kind)
	for _, id := range ids {
		b = appendID(b, id)
	}
	return b
}

// offsetKey returns the key of the offset of (topic, partition) in the
// global range (p < 0) or in the range of order partition p.
func offsetKey(b []byte, p int32, topic string, partition int32) []byte {
	if p < 0 {
		b = append(b, rangeGlobal, kindOffset)
	} else {
		b = append(partitionPrefix(b, p), kindOffset)
	}
	b = append(append(b, topic...), 0)
	return binary.BigEndian.AppendUint32(b, uint32(partition))
}

// prefixEnd returns the smallest key greater than every key with the
// given prefix (prefixes here never end in 0xff bytes only).
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

var errBadTopic = errors.New("topic name empty or containing a NUL byte")

func checkTopic(topic string) error {
	if topic == "" {
		return errBadTopic
	}
	for i := 0; i < len(topic); i++ {
		if topic[i] == 0 {
			return errBadTopic
		}
	}
	return nil
}
