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
	kindItem       = 'I' // p n I order item
	kindPayment    = 'P' // p n P order payment
	kindCustOrders = 'c' // p n c customer order → ∅ (index)
	kindVehItems   = 'v' // p n v vehicle order item → ∅ (index)
	kindFactClock  = 'f' // p n f → uvarint highest fact version emitted

	kindOffset   = 'o' // g o topic 0 partition(4) / p n o topic 0 partition(4) → uvarint next offset
	kindSnapshot = 's' // g s C|V → ∅: the table's mirror rows are to be sent from the state
)

// metaFormat is the key of the layout version; formatVersion the version
// this code writes and reads.
var metaFormat = []byte{rangeMeta, 'f', 'o', 'r', 'm', 'a', 't'}

const formatVersion = 3

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
