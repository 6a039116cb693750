package web

import "embed"

// staticFS holds the demo page and its scripts. The server serves nothing
// else from disk: what runs in the browser is what was built in.
//
//go:embed static
var staticFS embed.FS
