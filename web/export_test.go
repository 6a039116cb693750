package web

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
