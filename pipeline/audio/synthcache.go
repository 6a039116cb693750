package audio

import "sync"

// speechCache remembers synthesised clips by text. A Synth is
// deterministic, so a cached clip is bit-identical to a fresh one; sessions
// of one architecture repeat the same answers run after run, and rendering
// is most of a headless run's cost.
type speechCache struct {
	mu    sync.RWMutex
	clips map[string][]int16
	max   int
}

// WithCache returns a Synth that shares a cache of up to maxEntries clips
// across every goroutine using it. Returned clips share storage: callers
// must not modify their samples (pipeline frames never are).
func (s *Synth) WithCache(maxEntries int) *Synth {
	c := *s
	c.cache = &speechCache{clips: map[string][]int16{}, max: maxEntries}
	return &c
}

func (c *speechCache) get(text string) ([]int16, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.clips[text]
	return s, ok
}

func (c *speechCache) put(text string, s []int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.clips) < c.max {
		// Full capacity: an append by a careless caller reallocates rather
		// than writing into the shared clip.
		c.clips[text] = s[:len(s):len(s)]
	}
}
