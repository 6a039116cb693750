// Waterfall draws a turn's critical path: live from the server's marks as
// they arrive (the segment under way grows until the next mark), then the
// server's final breakdown once the answer's first sample has played.

const PATH = [
  ['server.speech_end', 'network_up'], ['turn.end', 'endpointing'], ['stt.final', 'stt_final'],
  ['llm.request', 'llm_queue'], ['llm.first_token', 'llm_ttft'], ['tts.request', 'sentence_aggregation'],
  ['tts.first_audio', 'tts_ttfb'], ['native.first_audio', 'native_ttfa'], ['client.first_audio', 'network_down'],
  ['client.first_played', 'playout'],
];

export function fmtMs(v) {
  return v === undefined || v === null || !Number.isFinite(v) ? '—' : `${Math.round(v)} ms`;
}

export class Waterfall {
  constructor(el) {
    this.el = el;
    this.live = null;
    this.userEnd = undefined; // latest end of user speech (truth, else the VAD's)
    this.serverEnd = undefined;
    this.frame = 0;
  }

  reset(msg) {
    this.live = null;
    this.stopAnimation();
    this.el.replaceChildren();
    if (msg) this.el.append(cell('muted', msg));
  }

  provisionalEnd(streamMs) {
    if (this.userEnd === undefined || streamMs > this.userEnd) this.userEnd = streamMs;
  }

  mark(m, now) {
    switch (m.name) {
      case 'user.speech_end': this.userEnd = m.stream_ms; if (this.live) this.live.base = Math.min(this.live.base, m.stream_ms); return;
      case 'server.speech_end': this.serverEnd = m.stream_ms; return;
      case 'turn.end':
        if (!this.live || m.response > this.live.response) {
          const base = this.userEnd !== undefined && this.userEnd <= m.stream_ms ? this.userEnd : m.stream_ms;
          this.live = { response: m.response, base, marks: new Map(), now, done: false };
          if (this.serverEnd !== undefined && this.serverEnd >= base && this.serverEnd <= m.stream_ms) {
            this.live.marks.set('server.speech_end', this.serverEnd);
          }
        }
        break;
    }
    const l = this.live;
    // Once the final breakdown is drawn, later marks of its response (the
    // end of playback, say) change nothing here.
    if (!l || l.final || m.response !== l.response) return;
    if (!l.marks.has(m.name)) l.marks.set(m.name, m.stream_ms);
    if (m.name === 'client.first_played') l.done = true;
    this.drawLive();
  }

  drawLive() {
    const l = this.live;
    if (!l || l.final) return;
    const rows = [];
    let prev = l.base;
    for (const [mark, name] of PATH) {
      const at = l.marks.get(mark);
      if (at === undefined) continue;
      rows.push({ name, start: prev, end: at });
      prev = at;
    }
    const now = l.now();
    if (!l.done) rows.push({ name: 'waiting…', start: prev, end: Math.max(prev, now), pending: true });
    this.draw(rows, l.base, Math.max(800, (l.done ? prev : now) - l.base), l.done ? prev - l.base : undefined);
    if (!l.done) this.animate(); else this.stopAnimation();
  }

  final(tm) {
    if (!tm.breakdown || tm.breakdown.length === 0) return;
    if (this.live && tm.response < this.live.response) return; // an older turn
    this.stopAnimation();
    const base = tm.breakdown[0].start_ns / 1e6;
    const rows = tm.breakdown.map((s) => ({ name: s.name, start: s.start_ns / 1e6, end: s.end_ns / 1e6 }));
    const v2v = tm.values.voice_to_voice / 1e6;
    this.live = { response: tm.response, final: true, base, rows, v2v };
    this.draw(rows, base, v2v, v2v);
  }

  bargeIn(stopMs, playedMs) {
    const row = document.createElement('div');
    row.className = 'barge-row';
    this.el.append(cell('name', 'barge_in_stop'), cell('ms', fmtMs(stopMs)),
      cell('muted', `you talked over the answer; it stopped ${fmtMs(stopMs)} after you started` +
        (playedMs !== undefined ? `, after ${fmtMs(playedMs)} of it had played` : '')));
  }

  draw(rows, base, span, total) {
    const els = [];
    for (const r of rows) {
      if (r.end - r.start <= 0 && !r.pending) continue;
      const track = cell('track', '');
      const bar = document.createElement('div');
      bar.className = 'bar ' + (r.pending ? 'pending' : r.name);
      bar.style.left = `${(100 * (r.start - base)) / span}%`;
      bar.style.width = `${Math.max(0.3, (100 * (r.end - r.start)) / span)}%`;
      track.append(bar);
      els.push(cell('name', r.name), cell('ms', fmtMs(r.end - r.start)), track);
    }
    if (total !== undefined) {
      els.push(cell('name sum', 'voice_to_voice'), cell('ms sum', fmtMs(total)), cell('sum', ''));
    }
    this.el.replaceChildren(...els);
  }

  animate() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.drawLive(); });
  }

  stopAnimation() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }
}

function cell(cls, text) {
  const d = document.createElement('div');
  d.className = cls;
  d.textContent = text;
  return d;
}
