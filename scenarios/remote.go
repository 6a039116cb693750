package scenarios

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
	"github.com/voicesim/voicesim/pipeline/pace"
	"github.com/voicesim/voicesim/stages/catalog"
	"github.com/voicesim/voicesim/web/wsconn"
	"go.yaml.in/yaml/v3"
)

// RemoteOptions control a run against a live server (voicesim serve).
type RemoteOptions struct {
	// URL is the server: ws://host:port/ws; http(s):// and a bare host:port
	// work too.
	URL string
	// Archs, Runs and Seed replace the scenarios' own, as in RunOptions.
	Archs []string
	Runs  int
	Seed  *uint64
	// Workers is the number of sessions run at once (default 1).
	Workers int
	// Ramp spreads the first sessions' starts evenly over this long, so
	// many workers do not all connect, and speak, in the same instant.
	Ramp time.Duration
	// Progress, if set, is called after each run from one goroutine.
	Progress func(done, total int)
	// Registry defaults to the full catalogue.
	Registry *pipeline.Registry
	// Header is sent with the WebSocket handshake (e.g. an Origin).
	Header http.Header
	// OnRun, if set, receives each run's raw results as it completes.
	OnRun func(RemoteRun)
	// Pace paces the client sessions' clocks (default: a new scheduler).
	Pace *pace.Scheduler
	// ReadOnGoroutines reads each session's socket on a goroutine of its
	// own rather than from the scheduler's shards (the default where they
	// can watch sockets: Linux, without TLS). For comparison.
	ReadOnGoroutines bool
}

// RemoteRun is one run's results as the server and the client measured them.
type RemoteRun struct {
	Scenario, Arch string
	Run            int
	// Turns are the server's metrics, placed on its timeline from the
	// client's reports.
	Turns []pipeline.TurnMetrics
	// ClientVoiceToVoice is each turn's voice_to_voice as the client
	// measured it on its own clock, from its script's truth to its
	// playout's first sample (0: no answer heard).
	ClientVoiceToVoice []time.Duration
	Counters           map[string]int64
	Marks              []pipeline.Mark
}

// RunRemote plays every scenario's scripted user over a WebSocket to a
// live server in real time and builds the same report Run does, in mode
// "server". The server runs each preset's server-side stages on the wall
// clock, with the preset's network legs (or the scenario's network
// profile) simulated on top of the real wire; this client models the
// listener's end — the preset's playout — on a virtual clock paced by the
// wall clock, so what it reports is on its capture clock with no drift.
// Comparing the result with Run's measures the server's timing error.
func RunRemote(ctx context.Context, scs []*Scenario, opt RemoteOptions) (*Report, error) {
	if opt.Registry == nil {
		opt.Registry = catalog.Registry()
	}
	if opt.Workers <= 0 {
		opt.Workers = 1
	}
	u, err := wsEndpoint(opt.URL)
	if err != nil {
		return nil, err
	}
	rep := &Report{Schema: SchemaVersion, GeneratedAt: time.Now().UTC().Format(time.RFC3339), Mode: "server"}
	plans, err := planAll(scs, opt.Archs, opt.Runs, opt.Seed, opt.Registry, rep)
	if err != nil {
		return nil, err
	}
	marks := map[*plan][][]pipeline.Mark{}
	for _, p := range plans {
		marks[p] = make([][]pipeline.Mark, p.runs)
	}
	type job struct {
		p *plan
		i int
	}
	jobs := make(chan job)
	var (
		mu    sync.Mutex
		first error
		done  int
		wg    sync.WaitGroup
	)
	total := 0
	for _, p := range plans {
		total += p.runs
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sched := opt.Pace // the sessions' clocks share its goroutines
	if sched == nil {
		sched = pace.New(0)
	}
	for w := range opt.Workers {
		wg.Go(func() {
			if opt.Ramp > 0 {
				select {
				case <-time.After(opt.Ramp * time.Duration(w) / time.Duration(opt.Workers)):
				case <-ctx.Done():
				}
			}
			for j := range jobs {
				rr, err := runRemoteOnce(ctx, u, j.p, j.i, opt, sched)
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("scenario %s, %s, run %d: %w", j.p.sc.Name, j.p.spec.Name(), j.i, err)
					cancel()
				}
				if err == nil {
					j.p.turns[j.i], j.p.cnts[j.i], marks[j.p][j.i] = rr.Turns, rr.Counters, rr.Marks
					done++
					if opt.Progress != nil {
						opt.Progress(done, total)
					}
				}
				mu.Unlock()
				if err == nil && opt.OnRun != nil {
					opt.OnRun(rr)
				}
			}
		})
	}
feed:
	for _, p := range plans {
		for i := range p.runs {
			select {
			case jobs <- job{p, i}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, sc := range scs {
		sr := ScenarioReport{Name: sc.Name, File: sc.File, Description: sc.Description}
		for _, p := range plans {
			if p.sc == sc {
				sr.Architectures = append(sr.Architectures, p.remoteReport(marks[p]))
			}
		}
		rep.Scenarios = append(rep.Scenarios, sr)
	}
	rep.Totals = totals(plans)
	return rep, nil
}

// wsEndpoint turns the --server value into a WebSocket URL.
func wsEndpoint(s string) (string, error) {
	if s == "" {
		return "", errors.New("no server URL")
	}
	if !strings.Contains(s, "://") {
		s = "ws://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("server URL %q: %w", s, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return "", fmt.Errorf("server URL %q: want ws://, wss://, http:// or https://", s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/ws"
	}
	return u.String(), nil
}

// remoteReport is plan.report for runs measured by a server: the
// representative timelines are the server's records of those runs, not
// re-simulations.
func (p *plan) remoteReport(marks [][]pipeline.Mark) ArchReport {
	ar := p.summary()
	for _, pk := range p.representativeRuns() {
		ar.Representative = append(ar.Representative, RunTimeline{Label: pk.label, Run: pk.run,
			Seed: RunSeed(p.seed, pk.run), Turns: p.turns[pk.run], Marks: marks[pk.run]})
	}
	return ar
}

// runRemoteOnce runs one session: it connects, sends the start message,
// builds the client's end from what the server says it left to the client,
// and plays the script in real time.
func runRemoteOnce(ctx context.Context, u string, p *plan, i int, opt RemoteOptions, sched *pace.Scheduler) (RemoteRun, error) {
	overrides := map[string]json.RawMessage{}
	for stage, node := range p.spec.Overrides {
		var v any
		if err := node.Decode(&v); err != nil {
			return RemoteRun{}, fmt.Errorf("override for %s: %w", stage, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return RemoteRun{}, fmt.Errorf("override for %s: %w", stage, err)
		}
		overrides[stage] = b
	}
	var inline []wireStage
	for _, st := range p.spec.Stages {
		ws := wireStage{Stage: st.Stage}
		if st.Config.Kind != 0 {
			var v any
			if err := st.Config.Decode(&v); err != nil {
				return RemoteRun{}, fmt.Errorf("stage %s: %w", st.Stage, err)
			}
			b, err := json.Marshal(v)
			if err != nil {
				return RemoteRun{}, fmt.Errorf("stage %s: %w", st.Stage, err)
			}
			ws.Config = b
		}
		inline = append(inline, ws)
	}
	network := "preset"
	if p.sc.Network != "" {
		network = p.sc.Network
	}
	start := wireStart{Type: "start", Preset: p.spec.Preset, Stages: inline, Label: p.spec.Label, Kind: p.arch.Preset.Kind,
		Overrides: overrides, Network: network,
		Seed: RunSeed(p.seed, i), Audio: wireAudio{Format: "pcm16", SampleRate: pipeline.SampleRate, Channels: 1},
		Client: "voicesim run"}
	for _, ut := range p.mic.Utterances {
		if ut.Reply != "" {
			start.Replies = append(start.Replies, wireReply{Text: ut.Text, Reply: ut.Reply})
		}
	}
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Writes never wait for the server (remoteClient says why);
			// their deadline is 10 s (remoteClient.write).
			return wsconn.LazyDeadlines(wsconn.NonBlocking(c, sendBacklog), time.Second), nil
		}}
	ws, _, err := dialer.DialContext(ctx, u, opt.Header)
	if err != nil {
		return RemoteRun{}, fmt.Errorf("connect to %s: %w", u, err)
	}
	defer ws.Close()
	c := newRemoteClient(ws, p, opt.Registry, sched, !opt.ReadOnGoroutines)
	if err := c.writeJSON(start); err != nil {
		return RemoteRun{}, err
	}
	if err := c.run(ctx); err != nil {
		return RemoteRun{}, err
	}
	return RemoteRun{Scenario: p.sc.Name, Arch: p.spec.Name(), Run: i, Turns: c.summary.Turns,
		ClientVoiceToVoice: clientVoiceToVoice(c.s.Timeline()), Counters: c.counters(), Marks: c.summary.Marks}, nil
}

// Client-side messages of the protocol (web/PROTOCOL.md). They are written
// out here rather than imported, so this client checks the documented
// protocol rather than sharing the server's code.
type wireStart struct {
	Type      string                     `json:"type"`
	Preset    string                     `json:"preset,omitempty"`
	Stages    []wireStage                `json:"stages,omitempty"`
	Label     string                     `json:"label,omitempty"`
	Kind      string                     `json:"kind,omitempty"`
	Overrides map[string]json.RawMessage `json:"overrides,omitempty"`
	Network   string                     `json:"network"`
	Seed      uint64                     `json:"seed"`
	Audio     wireAudio                  `json:"audio"`
	Replies   []wireReply                `json:"replies,omitempty"`
	Client    string                     `json:"client"`
}

type wireStage struct {
	Stage  string          `json:"stage"`
	Config json.RawMessage `json:"config,omitempty"`
}

type wireAudio struct {
	Format     string `json:"format"`
	SampleRate int    `json:"sample_rate"`
	Channels   int    `json:"channels"`
}

type wireReply struct {
	Text  string `json:"text"`
	Reply string `json:"reply"`
}

type wireTruth struct {
	Type   string  `json:"type"`
	Name   string  `json:"name"`
	Sample int64   `json:"sample"`
	Turn   int     `json:"turn"`
	Value  float64 `json:"value,omitempty"`
	Text   string  `json:"text,omitempty"`
}

type wirePlayback struct {
	Type     string  `json:"type"`
	Event    string  `json:"event"`
	Response uint32  `json:"response"`
	TMs      float64 `json:"t_ms"`
	PlayedMs float64 `json:"played_ms,omitempty"`
}

// wireEvent holds the fields of server messages this client reads.
type wireEvent struct {
	Type         string `json:"type"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	Fatal        bool   `json:"fatal"`
	Response     uint32 `json:"response"`
	Frames       uint64 `json:"frames"`
	Cancelled    bool   `json:"cancelled"`
	ClientStages []struct {
		Stage  string          `json:"stage"`
		Config json.RawMessage `json:"config"`
	} `json:"client_stages"`
	Turns    []pipeline.TurnMetrics `json:"turns"`
	Counters map[string]int64       `json:"counters"`
	Marks    []pipeline.Mark        `json:"marks"`
}

// stageFromJSON prepares a client-side stage from the config the server sent.
func stageFromJSON(reg *pipeline.Registry, name string, cfg json.RawMessage) (pipeline.Named, error) {
	var n yaml.Node
	if len(cfg) > 0 {
		if err := yaml.Unmarshal(cfg, &n); err != nil {
			return pipeline.Named{}, fmt.Errorf("client stage %s: %w", name, err)
		}
	}
	prep, err := reg.Prepare(name, &n)
	if err != nil {
		return pipeline.Named{}, fmt.Errorf("client stage %s: %w", name, err)
	}
	return pipeline.Named{Name: name, Stage: prep.New()}, nil
}

// decodeServerAudio parses a server audio message: a 12-byte header
// (response, seq, flags) and PCM16 LE samples. A whole 20 ms frame is
// decoded into storage from pool, if there is one.
func decodeServerAudio(b []byte, pool *pipeline.FramePool) (pipeline.Frame, error) {
	const header = 12
	if len(b) < header || (len(b)-header)%2 != 0 {
		return pipeline.Frame{}, fmt.Errorf("server audio message of %d bytes", len(b))
	}
	f := pipeline.Frame{Kind: pipeline.AssistantAudio, Response: pipeline.ResponseID(binary.LittleEndian.Uint32(b)),
		Seq: uint64(binary.LittleEndian.Uint32(b[4:]))}
	if n := (len(b) - header) / 2; n == pipeline.FrameSamples && pool != nil {
		f.Audio = pool.Get()
	} else {
		f.Audio = make([]int16, n)
	}
	if b[8]&1 != 0 {
		f.Flags |= pipeline.FlagLast
	}
	if b[8]&2 != 0 {
		f.Flags |= pipeline.FlagConcealed
	}
	audio.DecodePCM16Into(f.Audio, b[header:])
	return f, nil
}
