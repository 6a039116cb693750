package web

import (
	"sync"
	"time"
)

// ReadByLanes counts the started sessions whose client is read by their
// lane rather than by a goroutine of their own.
func (s *Server) ReadByLanes() int {
	s.mu.Lock()
	ls := make([]*live, 0, len(s.sessions))
	for l := range s.sessions {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	n := 0
	for _, l := range ls {
		if l.started.Load() {
			l.lane.Do(func() {
				if l.rd.inLane {
					n++
				}
			})
		}
	}
	return n
}

// Hold makes every started session's lane busy for d, as a loaded
// scheduler would: its shard cannot fire it or read its socket meanwhile.
// The returned channel is closed once every lane is held.
func (s *Server) Hold(d time.Duration) <-chan struct{} {
	s.mu.Lock()
	var ls []*live
	for l := range s.sessions {
		if l.started.Load() {
			ls = append(ls, l)
		}
	}
	s.mu.Unlock()
	var held sync.WaitGroup
	held.Add(len(ls))
	for _, l := range ls {
		go l.lane.Do(func() {
			held.Done()
			time.Sleep(d)
		})
	}
	all := make(chan struct{})
	go func() { held.Wait(); close(all) }()
	return all
}
