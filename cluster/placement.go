package cluster

import "hash/fnv"

// Owner returns the member that owns link among members, by rendezvous (highest random weight)
// hashing: every member computes the same owner from the same list, links spread evenly, and a
// member joining or leaving moves only the links it takes or had. It returns "" for no members.
func Owner(link string, members []string) string {
	var best string
	var bestW uint64
	for _, m := range members {
		h := fnv.New64a()
		h.Write([]byte(m))
		h.Write([]byte{0})
		h.Write([]byte(link))
		w := mix(h.Sum64())
		if best == "" || w > bestW || (w == bestW && m < best) {
			best, bestW = m, w
		}
	}
	return best
}

// mix is splitmix64's finalizer: FNV alone spreads similar keys poorly.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
