package engine

import "hash/maphash"

// idWindow remembers the last n event IDs, the oldest forgotten first, exactly: an ID in the
// window is always found, and one that left it never is.
//
// It keeps a 128-bit key of each ID, not the ID. An ID of the shape Slack gives every event
// ("Ev" and 1 to 12 characters of 0-9 and A-Z, as in "Ev08MFMKH6") packs into the key's low 64
// bits as a number (bijective base 36, below 2^63), its high bits zero: two such IDs have the same
// key only if they are the same ID, so these never collide. Any other ID is hashed: two
// independent maphash values, the low word's top bit set (so that it never equals a packed ID),
// 127 bits in all, and two distinct IDs share a key with a probability of about 2^-127 per pair.
//
// The keys sit in a ring, in arrival order, and an open-addressed table of ring positions (linear
// probing, deletion by backward shift, so that nothing is left behind however many IDs go
// through) finds them. The ring keeps the low words, and the high words only once an ID that
// does not pack came (until then they are all zero): at n = 10,000 that is 8 bytes an ID, plus
// the table's 16,384 positions of 2 bytes (4 when n > 65,535), 112 KiB a window for Slack's IDs
// (224 KiB if any ID does not pack), however long the IDs. All grow with use, up to n.
type idWindow struct {
	lows  []uint64 // the keys' low words: lows[head] is the oldest once the ring is full
	highs []uint64 // the keys' high words, in step with lows; nil while every one is zero
	head  int
	n     int
	// The table: ring position + 1, 0 is empty, in narrow when n < 2^16 and in wide otherwise.
	// Its size is a power of two, at most 5/8 full.
	narrow []uint16
	wide   []uint32
}

// idKey is an ID's 128-bit key.
type idKey struct{ lo, hi uint64 }

// idSeeds are the process's hash seeds: a window lives in one process.
var idSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// idSalt is the process's random salt for the slots of packed IDs.
var idSalt = maphash.Comparable(maphash.MakeSeed(), uint64(0))

func newIDWindow(n int) *idWindow {
	if n <= 0 {
		n = 10000
	}
	return &idWindow{n: n}
}

// idKeyOf is id's key: packed exactly if it has Slack's shape, hashed otherwise.
func idKeyOf(id string) idKey {
	if lo, ok := packEventID(id); ok {
		return idKey{lo: lo}
	}
	return idKey{lo: maphash.String(idSeeds[0], id) | 1<<63, hi: maphash.String(idSeeds[1], id)}
}

// packedIDOffsets[l] is the number of packed IDs shorter than l characters after "Ev": IDs of l
// characters take the numbers from packedIDOffsets[l] up to packedIDOffsets[l+1]-1.
var packedIDOffsets = func() (o [13]uint64) {
	p := uint64(36)
	for l := 2; l < len(o); l++ {
		o[l] = o[l-1] + p
		p *= 36
	}
	return o
}()

// packEventID numbers an ID of "Ev" and 1 to 12 characters of 0-9 and A-Z: distinct IDs get
// distinct numbers, all below 2^63 (36 + 36^2 + ... + 36^12 < 4.9e18).
func packEventID(id string) (uint64, bool) {
	l := len(id) - 2
	if l < 1 || l > 12 || id[0] != 'E' || id[1] != 'v' {
		return 0, false
	}
	var v uint64
	for i := 2; i < len(id); i++ {
		c := id[i]
		switch {
		case '0' <= c && c <= '9':
			v = v*36 + uint64(c-'0')
		case 'A' <= c && c <= 'Z':
			v = v*36 + uint64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return packedIDOffsets[l] + v, true
}

// add records id; false if it was already there.
func (w *idWindow) add(id string) bool {
	k := idKeyOf(id)
	if w.find(k) >= 0 {
		return false
	}
	if k.hi != 0 && w.highs == nil {
		w.highs = make([]uint64, len(w.lows), cap(w.lows))
	}
	if len(w.lows) < w.n {
		if len(w.lows) == cap(w.lows) { // grow, never past n
			c := min(max(2*cap(w.lows), 64), w.n)
			w.lows = append(make([]uint64, 0, c), w.lows...)
			if w.highs != nil {
				w.highs = append(make([]uint64, 0, c), w.highs...)
			}
		}
		w.lows = append(w.lows, k.lo)
		if w.highs != nil {
			w.highs = append(w.highs, k.hi)
		}
		if 8*len(w.lows) > 5*w.size() {
			w.rehash(max(64, 2*w.size()))
		}
		w.insert(len(w.lows) - 1)
		return true
	}
	w.remove(w.head)
	w.lows[w.head] = k.lo
	if w.highs != nil {
		w.highs[w.head] = k.hi
	}
	w.insert(w.head)
	w.head = (w.head + 1) % w.n
	return true
}

// key is the key at ring position pos.
func (w *idWindow) key(pos int) idKey {
	if w.highs == nil {
		return idKey{lo: w.lows[pos]}
	}
	return idKey{lo: w.lows[pos], hi: w.highs[pos]}
}

// size is the table's number of slots.
func (w *idWindow) size() int { return len(w.narrow) + len(w.wide) }

// at is table slot i: a ring position + 1, or 0.
func (w *idWindow) at(i int) int {
	if w.wide != nil {
		return int(w.wide[i])
	}
	return int(w.narrow[i])
}

func (w *idWindow) set(i, v int) {
	if w.wide != nil {
		w.wide[i] = uint32(v)
	} else {
		w.narrow[i] = uint16(v)
	}
}

// slot is the home slot of a key with low word lo. A packed ID's number is mixed (murmur3's
// finalizer over the number and the process's random salt) so that IDs Slack numbers in sequence
// do not cluster; a hashed one is used as is.
func (w *idWindow) slot(lo uint64) int {
	if lo>>63 == 0 {
		lo ^= idSalt
		lo ^= lo >> 33
		lo *= 0xff51afd7ed558ccd
		lo ^= lo >> 33
		lo *= 0xc4ceb9fe1a85ec53
		lo ^= lo >> 33
	}
	return int(lo & uint64(w.size()-1))
}

// find returns the table slot of k, or -1.
func (w *idWindow) find(k idKey) int {
	if w.size() == 0 {
		return -1
	}
	mask := w.size() - 1
	for i := w.slot(k.lo); ; i = (i + 1) & mask {
		p := w.at(i)
		if p == 0 {
			return -1
		}
		if w.lows[p-1] == k.lo && (w.highs == nil || w.highs[p-1] == k.hi) {
			return i
		}
	}
}

// insert indexes ring position pos.
func (w *idWindow) insert(pos int) {
	mask := w.size() - 1
	i := w.slot(w.lows[pos])
	for w.at(i) != 0 {
		i = (i + 1) & mask
	}
	w.set(i, pos+1)
}

// remove drops ring position pos from the table, shifting back the entries after it that would
// otherwise no longer be found.
func (w *idWindow) remove(pos int) {
	mask := w.size() - 1
	i := w.find(w.key(pos))
	if i < 0 {
		return
	}
	for j := (i + 1) & mask; w.at(j) != 0; j = (j + 1) & mask {
		k := w.slot(w.lows[w.at(j)-1]) // where the entry at j would like to be
		// It stays if its home is cyclically in (i, j]; otherwise it moves into the hole at i.
		if (i <= j && i < k && k <= j) || (i > j && (i < k || k <= j)) {
			continue
		}
		w.set(i, w.at(j))
		i = j
	}
	w.set(i, 0)
}

// rehash rebuilds the table with size slots.
func (w *idWindow) rehash(size int) {
	if w.n < 1<<16 {
		w.narrow, w.wide = make([]uint16, size), nil
	} else {
		w.narrow, w.wide = nil, make([]uint32, size)
	}
	for pos := range w.lows[:len(w.lows)-1] { // the newest is inserted by add
		w.insert(pos)
	}
}
