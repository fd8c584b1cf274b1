package fakeslack

// msgRing is one channel's history: its last size messages, oldest dropped first
// (Options.HistorySize). Guarded by world.mu.
type msgRing struct {
	buf   []Message // ring storage, doubled as needed up to size
	start int       // index of the oldest message
	n     int
	size  int
}

// add appends m, dropping the oldest message when the ring is full. A size < 1 keeps nothing.
func (r *msgRing) add(m Message) {
	if r.size < 1 {
		return
	}
	if r.n == r.size {
		r.buf[r.start] = m
		r.start = (r.start + 1) % r.size
		return
	}
	if r.n == len(r.buf) { // storage full below size: double it, oldest first
		grown := make([]Message, min(r.size, max(16, 2*r.n)))
		r.copyTo(grown)
		r.buf, r.start = grown, 0
	}
	r.buf[(r.start+r.n)%len(r.buf)] = m
	r.n++
}

// at returns the i-th message, oldest first.
func (r *msgRing) at(i int) *Message { return &r.buf[(r.start+i)%len(r.buf)] }

func (r *msgRing) copyTo(dst []Message) {
	for i := range r.n {
		dst[i] = *r.at(i)
	}
}

// list returns a copy of the messages, oldest first.
func (r *msgRing) list() []Message {
	if r == nil {
		return nil
	}
	out := make([]Message, r.n)
	r.copyTo(out)
	for i := range out { // reactions change in place under world.mu: callers get their own
		if rs := out[i].Reactions; rs != nil {
			out[i].Reactions = make([]Reaction, len(rs))
			for j, x := range rs {
				out[i].Reactions[j] = Reaction{Name: x.Name, Users: append([]string(nil), x.Users...)}
			}
		}
	}
	return out
}

// find returns the message with ts, or nil.
func (r *msgRing) find(ts string) *Message {
	if r == nil {
		return nil
	}
	for i := range r.n {
		if m := r.at(i); m.TS == ts {
			return m
		}
	}
	return nil
}

// remove deletes the message with ts and reports whether it was there.
func (r *msgRing) remove(ts string) bool {
	if r.find(ts) == nil {
		return false
	}
	kept := make([]Message, 0, len(r.buf))
	for i := range r.n {
		if m := r.at(i); m.TS != ts {
			kept = append(kept, *m)
		}
	}
	r.buf, r.start, r.n = kept[:cap(kept)], 0, len(kept)
	return true
}

// appendHistory adds m to its channel's history; callers hold w.mu.
func (w *world) appendHistory(m Message) {
	r := w.history[m.Channel]
	if r == nil {
		r = &msgRing{size: w.historySize}
		w.history[m.Channel] = r
	}
	r.add(m)
}
