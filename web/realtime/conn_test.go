package realtime

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/voicesim/voicesim/pipeline"
)

// TestSendBacklogHoldsTwentySeconds: the default send backlog holds 20 s
// of audio deltas as they are sent, with long IDs, in either dialect.
func TestSendBacklogHoldsTwentySeconds(t *testing.T) {
	delta := base64.StdEncoding.EncodeToString(make([]byte, 2*pipeline.FrameSamples))
	for _, d := range []dialect{ga, beta} {
		b, err := json.Marshal(evDelta{Type: d.name("response.output_audio.delta"), EventID: "event_99999999",
			ResponseID: "resp_99999", ItemID: "item_99999", Delta: &delta})
		if err != nil {
			t.Fatal(err)
		}
		frame := 4 + len(b) // a WebSocket header for 126 to 65535 bytes
		if need := 1000 * frame; (Limits{}).withDefaults().SendBacklog < need {
			t.Errorf("%s: default send backlog %d bytes; 20 s of %d-byte deltas is %d", d.name("response.output_audio.delta"),
				(Limits{}).withDefaults().SendBacklog, frame, need)
		}
	}
}
