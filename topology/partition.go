package topology

// OrderPartition returns the partition that Debezium's PartitionRouting SMT,
// configured as in deploy/debezium/connector.json
// (partition.payload.fields=change.id or change.order_id,
// partition.hash.function=java), assigns to the records of the order with the
// given id, on topics with the given number of partitions.
//
// The SMT hashes the Java Long with Long.hashCode, which is
// (int)(v ^ (v >>> 32)), clears the sign bit, maps Integer.MAX_VALUE to 0
// and takes the remainder modulo the partition count. orders, order_items
// and payments records of one order share this partition number, which is
// what lets one partition actor join them.
func OrderPartition(orderID int64, partitions int32) int32 {
	if partitions <= 0 {
		return 0
	}
	v := uint64(orderID)
	h := int32(uint32(v ^ (v >> 32)))
	n := h & 0x7fffffff
	if n == 0x7fffffff {
		n = 0
	}
	return n % partitions
}
