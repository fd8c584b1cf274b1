package cluster_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-go/switchboard/cluster"
)

func TestOwnerSpreadsAndMovesLittle(t *testing.T) {
	three := []string{"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"}
	two := three[:2]
	count := map[string]int{}
	moved := 0
	const n = 3000
	for i := range n {
		link := fmt.Sprintf("T%05d", i)
		o3 := cluster.Owner(link, three)
		count[o3]++
		o2 := cluster.Owner(link, two)
		if o3 != three[2] && o2 != o3 {
			moved++ // a link of a survivor moved: rendezvous hashing never does that
		}
		if cluster.Owner(link, []string{three[2], three[0], three[1]}) != o3 {
			t.Fatalf("%s: owner depends on the list's order", link)
		}
	}
	if moved != 0 {
		t.Errorf("%d links of surviving members moved", moved)
	}
	for m, c := range count {
		if c < n/3*8/10 || c > n/3*12/10 {
			t.Errorf("member %s owns %d of %d links: uneven", m, c, n)
		}
	}
	if cluster.Owner("x", nil) != "" {
		t.Error("no members must mean no owner")
	}
}
