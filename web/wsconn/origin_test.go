package wsconn

import (
	"net/http/httptest"
	"testing"
)

func TestOriginAllowed(t *testing.T) {
	for _, c := range []struct {
		name, origin, host string
		allowed            []string
		want               bool
	}{
		{"no origin: not a browser", "", "127.0.0.1:8080", nil, true},
		{"the server's own page", "http://127.0.0.1:8080", "127.0.0.1:8080", nil, true},
		{"own host, other case", "http://LOCALHOST:8080", "localhost:8080", nil, true},
		{"another site", "https://evil.example", "127.0.0.1:8080", nil, false},
		{"same host, other port", "http://127.0.0.1:9999", "127.0.0.1:8080", nil, false},
		{"listed", "https://app.example", "127.0.0.1:8080", []string{"https://app.example/"}, true},
		{"listed, other case", "https://APP.example", "127.0.0.1:8080", []string{"https://app.example"}, true},
		{"not the one listed", "https://other.example", "127.0.0.1:8080", []string{"https://app.example"}, false},
		{"any", "https://other.example", "127.0.0.1:8080", []string{"*"}, true},
		{"unparsable", "http://[::1", "127.0.0.1:8080", nil, false},
	} {
		r := httptest.NewRequest("GET", "http://"+c.host+"/ws", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := OriginAllowed(r, c.allowed); got != c.want {
			t.Errorf("%s: OriginAllowed(%q on %s, %v) = %v, want %v", c.name, c.origin, c.host, c.allowed, got, c.want)
		}
	}
}
