// Capture: the microphone, resampled to 24 kHz mono, posted as 20 ms PCM16
// frames (480 samples) with their sequence number and level.
//
// Output sample n is the input signal at time n / 24000 s after the first
// captured input sample, interpolated with a windowed-sinc low-pass filter
// (cut at 0.45 × the lower of the two rates) — so stream sample n is at a
// known instant of the AudioContext clock: the page relies on that to relate
// its stream clock to the playout's.

const OUT_RATE = 24000;
const FRAME = 480;
const HALF = 16; // taps each side
const PHASES = 256; // fractional positions tabulated

function blackman(x) { // x in [-1, 1]
  const a = Math.PI * (x + 1);
  return 0.42 - 0.5 * Math.cos(a) + 0.08 * Math.cos(2 * a);
}

function buildTable(inRate) {
  const c = (0.45 * Math.min(inRate, OUT_RATE)) / inRate; // cutoff, cycles per input sample
  const table = new Float32Array((PHASES + 1) * 2 * HALF);
  for (let p = 0; p <= PHASES; p++) {
    const frac = p / PHASES;
    let sum = 0;
    for (let k = -HALF + 1; k <= HALF; k++) {
      const x = k - frac;
      const u = 2 * c * x;
      const sinc = u === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u);
      const h = 2 * c * sinc * blackman(x / HALF);
      table[p * 2 * HALF + (k + HALF - 1)] = h;
      sum += h;
    }
    // Unity gain at DC for every phase.
    for (let k = 0; k < 2 * HALF; k++) table[p * 2 * HALF + k] /= sum;
  }
  return table;
}

class Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / OUT_RATE; // input samples per output sample
    this.table = this.ratio === 1 ? null : buildTable(sampleRate);
    this.buf = new Float32Array(16384);
    this.len = 0; // samples held in buf
    this.base = 0; // absolute input index of buf[0]
    this.n = 0; // next output sample
    this.frame = new Int16Array(FRAME);
    this.fill = 0;
    this.energy = 0;
    this.seq = 0;
    this.started = false;
    this.stopped = false;
    this.port.onmessage = (e) => { if (e.data === 'stop') this.stopped = true; };
  }

  append(input) {
    const n = input[0].length;
    if (this.len + n > this.buf.length) {
      // Drop what no output needs any more, then grow if still short.
      const keep = Math.max(0, Math.floor(this.n * this.ratio) - HALF - this.base);
      this.buf.copyWithin(0, keep, this.len);
      this.len -= keep;
      this.base += keep;
      if (this.len + n > this.buf.length) {
        const b = new Float32Array(2 * (this.len + n));
        b.set(this.buf.subarray(0, this.len));
        this.buf = b;
      }
    }
    const chans = input.length;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let c = 0; c < chans; c++) v += input[c][i];
      this.buf[this.len + i] = v / chans;
    }
    this.len += n;
  }

  sample(abs) {
    const i = abs - this.base;
    return i >= 0 && i < this.len ? this.buf[i] : 0;
  }

  process(inputs) {
    if (this.stopped) return false;
    const input = inputs[0];
    if (!input || input.length === 0 || !input[0]) return true;
    if (!this.started) {
      this.started = true;
      // The context frame of the first input sample: stream time zero.
      this.port.postMessage({ type: 'start', frame: currentFrame, rate: sampleRate });
    }
    this.append(input);
    for (;;) {
      const t = this.n * this.ratio;
      const i0 = Math.floor(t);
      if (i0 + HALF + 1 > this.base + this.len) break; // needs more input
      let v;
      if (!this.table) {
        v = this.sample(i0);
      } else {
        const p = Math.round((t - i0) * PHASES);
        const row = p * 2 * HALF;
        v = 0;
        for (let k = -HALF + 1; k <= HALF; k++) v += this.sample(i0 + k) * this.table[row + k + HALF - 1];
      }
      const s = Math.max(-1, Math.min(1, v));
      this.energy += s * s;
      this.frame[this.fill++] = s < 0 ? s * 32768 : s * 32767;
      this.n++;
      if (this.fill === FRAME) {
        const rms = Math.sqrt(this.energy / FRAME);
        const pcm = this.frame.slice();
        this.port.postMessage({ type: 'frame', seq: this.seq++, pcm, level: 20 * Math.log10(rms + 1e-9) }, [pcm.buffer]);
        this.fill = 0;
        this.energy = 0;
      }
    }
    return true;
  }
}

registerProcessor('voicesim-capture', Capture);
