// Playout: the client's jitter buffer and speaker feed. Assistant audio
// (24 kHz PCM16 frames, per response) is buffered, played in response order
// once `depth` ms are in (or the whole response is), resampled to the
// context rate, and flushed at once on an interruption. It reports, in
// context sample frames, when each response's first sample was rendered
// and when playback ended or was cut, with how much was played — the
// numbers the server needs for voice_to_voice, truncation and barge-in.

const IN_RATE = 24000;

class Stream {
  constructor(id) {
    this.id = id;
    this.data = new Float32Array(IN_RATE); // grows
    this.len = 0;
    this.pos = 0; // read position, in 24 kHz samples
    this.done = false;
    this.state = 'buffering'; // buffering | playing | stalled
  }

  append(pcm) {
    if (this.len + pcm.length > this.data.length) {
      const d = new Float32Array(2 * (this.len + pcm.length));
      d.set(this.data.subarray(0, this.len));
      this.data = d;
    }
    for (let i = 0; i < pcm.length; i++) this.data[this.len + i] = pcm[i] / 32768;
    this.len += pcm.length;
  }
}

class Playout extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.depth = ((opts.depthMs ?? 40) * IN_RATE) / 1000;
    this.step = IN_RATE / sampleRate;
    this.streams = []; // in response order; streams[0] plays
    this.finished = 0; // newest response played out or flushed
    this.underruns = 0;
    this.sinceReport = 0;
    this.port.onmessage = (e) => this.onMessage(e.data);
  }

  find(id) { return this.streams.find((s) => s.id === id); }

  onMessage(m) {
    switch (m.type) {
      case 'audio': {
        if (m.response <= this.finished) return; // its response is over
        let s = this.find(m.response);
        if (!s) {
          s = new Stream(m.response);
          this.streams.push(s);
          this.streams.sort((a, b) => a.id - b.id);
        }
        s.append(m.pcm);
        break;
      }
      case 'done': {
        const s = this.find(m.response);
        if (s) s.done = true;
        break;
      }
      case 'flush': {
        // An interruption: everything up to m.response stops now.
        const keep = [];
        for (const s of this.streams) {
          if (s.id > m.response) { keep.push(s); continue; }
          if (s.state !== 'buffering') this.report('stopped', s, currentFrame, 'flush');
        }
        this.streams = keep;
        this.finished = Math.max(this.finished, m.response);
        break;
      }
    }
  }

  report(type, s, frame, reason) {
    this.port.postMessage({ type, response: s.id, frame, playedMs: (Math.min(s.pos, s.len) * 1000) / IN_RATE,
      bufferedMs: ((s.len - s.pos) * 1000) / IN_RATE, reason, underruns: this.underruns });
  }

  process(_inputs, outputs) {
    const out = outputs[0];
    const ch0 = out[0];
    for (let i = 0; i < ch0.length; i++) {
      let v = 0;
      while (this.streams.length > 0) {
        const s = this.streams[0];
        if (s.state === 'buffering') {
          if (s.len < this.depth && !s.done) break;
          s.state = 'playing';
          this.report('started', s, currentFrame + i);
        }
        if (s.pos >= s.len) {
          if (s.done) { // played to its end
            this.report('stopped', s, currentFrame + i, 'end');
            this.finished = Math.max(this.finished, s.id);
            this.streams.shift();
            continue;
          }
          if (s.state !== 'stalled') { s.state = 'stalled'; this.underruns++; }
          break; // the server is behind: silence until more arrives
        }
        s.state = 'playing';
        const i0 = Math.floor(s.pos);
        const f = s.pos - i0;
        const a = s.data[i0];
        const b = i0 + 1 < s.len ? s.data[i0 + 1] : a;
        v = a + (b - a) * f;
        s.pos += this.step;
        break;
      }
      ch0[i] = v;
    }
    for (let c = 1; c < out.length; c++) out[c].set(ch0);
    this.sinceReport += ch0.length;
    if (this.sinceReport >= sampleRate / 20 && this.streams.length > 0 && this.streams[0].state !== 'buffering') {
      this.sinceReport = 0;
      this.report('position', this.streams[0], currentFrame);
    }
    return true;
  }
}

registerProcessor('voicesim-playout', Playout);
