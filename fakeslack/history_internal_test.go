package fakeslack

import (
	"fmt"
	"slices"
	"testing"
)

func TestMsgRing(t *testing.T) {
	texts := func(r *msgRing) []string {
		var out []string
		for _, m := range r.list() {
			out = append(out, m.Text)
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		size   int
		add    int
		remove string
		want   []string
	}{
		{"below size", 5, 3, "", []string{"m1", "m2", "m3"}},
		{"wrapped", 3, 7, "", []string{"m5", "m6", "m7"}},
		{"remove after wrap", 3, 7, "m6", []string{"m5", "m7"}},
		{"remove then add", 3, 7, "m5", []string{"m6", "m7", "m8"}},
		{"grows past 16", 40, 33, "", nil},
		{"none", 0, 3, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &msgRing{size: tt.size}
			for i := 1; i <= tt.add; i++ {
				r.add(Message{TS: fmt.Sprintf("m%d", i), Text: fmt.Sprintf("m%d", i)})
			}
			if tt.remove != "" {
				if !r.remove(tt.remove) || r.remove("nope") {
					t.Fatalf("remove")
				}
				if tt.name == "remove then add" {
					r.add(Message{TS: "m8", Text: "m8"})
				}
			}
			got := texts(r)
			if tt.want == nil && tt.add <= tt.size {
				for i := 1; i <= tt.add; i++ {
					tt.want = append(tt.want, fmt.Sprintf("m%d", i))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ring = %v, want %v", got, tt.want)
			}
			if m := r.find("m7"); (m != nil) != slices.Contains(tt.want, "m7") {
				t.Errorf("find(m7) = %v", m)
			}
		})
	}
}
