package topology

// NextVersion returns the _version of the next fact for a key whose last
// fact had version last (0 if none): now, the emission clock in Unix
// nanoseconds, unless that does not exceed last, then last+1. See the
// package doc for why this is strictly increasing per fact key across
// restarts, rebalances and replays, and what it assumes about clocks.
func NextVersion(last, now uint64) uint64 {
	if now > last {
		return now
	}
	return last + 1
}
