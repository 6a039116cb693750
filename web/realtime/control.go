package realtime

import (
	"github.com/voicesim/voicesim/pipeline"
)

// controlName is the stage voicesim inserts into every Realtime session's
// chain, after the turn detector (or where one would be).
const controlName = "realtime.control"

// cmdCreate is the text of the command frame a response.create sends down
// the chain. Commands travel as Metric frames from the chain's input, so
// they cross a simulated uplink like the client's audio and stay in order
// with it.
const cmdCreate = "realtime.response.create"

// control is the Realtime API's own turn logic on top of the preset's
// detector:
//
//   - response.create: emits TurnEnded for a new response (stamping
//     turn.end), so every stage downstream answers it as it would a
//     detected turn end;
//   - create_response: false: the detector's turn ends commit the user's
//     audio but start no response (the response is cancelled at once, and
//     the detector told so);
//   - manual turns (turn_detection: null): there is no turn detector; the
//     VAD still runs, for the session's speech estimates, but its
//     SpeechStarted/Stopped frames stop here, as a server without turn
//     detection reports no speech;
//   - barge-in over a response it created, when interrupt_response is on
//     (the detector only guards the responses it started).
type control struct {
	ctx            *pipeline.Context
	manual         bool
	createResponse bool
	interrupt      bool
	own            pipeline.ResponseID // a response this stage created, still active
}

func (c *control) Start(ctx *pipeline.Context) { c.ctx = ctx }

func (c *control) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	switch f.Kind {
	case pipeline.Interruption, pipeline.Cancel:
		if c.own != 0 && f.Response >= c.own {
			c.own = 0
		}
		return // the session forwards these
	case pipeline.Metric:
		if dir == pipeline.Downstream && f.Text == cmdCreate {
			r := ctx.NewResponse()
			ctx.Mark(pipeline.MarkTurnEnd)
			c.own = r
			ctx.Push(pipeline.Frame{Kind: pipeline.TurnEnded, Response: r, At: ctx.Now()})
			return
		}
	case pipeline.TurnEnded:
		if dir == pipeline.Downstream && !c.createResponse {
			// The detector's turn end commits the audio; no response. Tell
			// the detector and the timeline that response is not coming.
			ctx.MarkFor(pipeline.MarkCancelled, f.Response)
			ctx.PushUp(pipeline.Frame{Kind: pipeline.Cancel, Response: f.Response, At: ctx.Now()})
			return
		}
	case pipeline.SpeechStarted:
		if dir == pipeline.Downstream {
			if c.manual {
				return
			}
			if c.own != 0 && c.interrupt {
				r := c.own
				c.own = 0
				ctx.Interrupt(r)
			}
		}
	case pipeline.SpeechStopped:
		if dir == pipeline.Downstream && c.manual {
			return
		}
	case pipeline.PlaybackStopped:
		if dir == pipeline.Upstream && f.Response == c.own {
			c.own = 0
		}
	}
	ctx.Forward(f, dir)
}

var (
	_ pipeline.Stage   = (*control)(nil)
	_ pipeline.Starter = (*control)(nil)
)
