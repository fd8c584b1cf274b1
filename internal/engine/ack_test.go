package engine

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestAckSendsOnceUnderRace(t *testing.T) {
	var sent atomic.Int32
	var payload []byte
	a := NewAck(true, func(p []byte) { sent.Add(1); payload = p })
	var wg sync.WaitGroup
	wins := atomic.Int32{}
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a.Send([]byte(`{"n":1}`)) {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if sent.Load() != 1 || wins.Load() != 1 || string(payload) != `{"n":1}` || !a.Done() {
		t.Errorf("sent %d, wins %d, payload %s", sent.Load(), wins.Load(), payload)
	}
}

func TestAckHoldRelease(t *testing.T) {
	var sent atomic.Int32
	a := NewAck(false, func([]byte) { sent.Add(1) })
	a.Hold(1) // dispatcher's guard
	a.Hold(2) // two subscribers
	a.Release()
	a.Release()
	if sent.Load() != 0 {
		t.Fatal("acked before the guard was released")
	}
	a.Release()
	if sent.Load() != 1 {
		t.Fatal("not acked after the last release")
	}
}
