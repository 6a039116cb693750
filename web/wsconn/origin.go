package wsconn

import (
	"net/http"
	"net/url"
	"strings"
)

// OriginAllowed is the Origin check on an upgrade: clients that send no
// Origin (not browsers) pass, as do pages served by this host and the
// origins listed in allowed ("*" allows any). A browser page elsewhere
// cannot open a session with the user's cookies or on their loopback.
func OriginAllowed(r *http.Request, allowed []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, o := range allowed {
		if o == "*" || strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}
