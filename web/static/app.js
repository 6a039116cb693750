// voicesim live demo: the browser is the client of one simulated voice
// pipeline. The microphone streams 20 ms PCM16 frames at 24 kHz to the
// server; the assistant's audio plays through a playout buffer whose
// reports (first sample played, playback stopped, ms played) go back to the
// server. See PROTOCOL.md.
//
// Clocks. Everything here is on the AudioContext clock. Stream time zero is
// the instant the first captured sample was spoken (its context time less
// the input latency the browser reports); stream sample n is at n/24 ms.
// Playback instants are context frames plus the output latency (when the
// sound reaches the ear). The server places both on its own timeline with
// one offset, so intervals between them — voice_to_voice above all — are
// exactly what this page measures.

import { Detector } from './detector.js';
import { Waterfall, fmtMs } from './waterfall.js';

const RATE = 24000;
const FRAME = 480;
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const LONG_ANSWER = 'Here is the long version. A jet engine pulls air in at the front with a fan, and the compressor squeezes ' +
  'that air to high pressure. Fuel is sprayed in and burned, which heats the air and makes it expand. The hot gas rushes out ' +
  'of the back, spinning a turbine on the way that drives the compressor, and the exhaust pushes the plane forward. ' +
  'Talk over me whenever you like and I will stop.';

const ui = {
  preset: $('preset'), network: $('network'), endpointing: $('endpointing'), long: $('long'),
  start: $('start'), stop: $('stop'), status: $('status'), banner: $('banner'), level: $('level'),
  v2vClient: $('v2v-client'), v2vServer: $('v2v-server'), played: $('played'), bargein: $('bargein'),
  turnNo: $('turn-no'), turnState: $('turn-state'), transcript: $('transcript'),
  rows: document.querySelector('#turns tbody'), byArch: $('by-arch'),
};

let presets = [];
let s = null; // the running session
const waterfall = new Waterfall($('waterfall'));

function status(text, cls) {
  ui.status.textContent = text;
  ui.status.className = 'status' + (cls ? ' ' + cls : '');
}

function banner(text) {
  ui.banner.textContent = text || '';
  ui.banner.hidden = !text;
}

async function loadPresets() {
  const resp = await fetch('api/presets');
  if (!resp.ok) throw new Error(`presets: HTTP ${resp.status}`);
  const data = await resp.json();
  presets = data.presets;
  for (const p of presets) ui.preset.add(new Option(`${p.name} (${p.kind})`, p.name));
  const labels = { none: 'none — the real wire only', preset: "the architecture's own" };
  for (const n of data.networks) ui.network.add(new Option(labels[n] || n, n));
  ui.preset.value = params.get('preset') || data.default;
  ui.network.value = params.get('network') || 'none';
  ui.long.checked = params.has('long');
  presetChanged();
  if (params.get('endpointing')) ui.endpointing.value = params.get('endpointing');
}

function currentPreset() { return presets.find((p) => p.name === ui.preset.value); }

function presetChanged() {
  const p = currentPreset();
  if (!p) return;
  $('preset-desc').textContent = p.description + (p.figure ? ` Calibrated: ${p.figure}.` : '');
  const k = p.endpointing;
  ui.endpointing.disabled = !k;
  ui.endpointing.value = k ? Math.round(k.default_ms) : '';
  $('endpointing-stage').textContent = k ? `(${k.stage} ${k.field})` : '(the model takes the turn itself)';
}

// startMessage builds the session's start message from the controls.
function startMessage() {
  const p = currentPreset();
  const msg = { type: 'start', preset: p.name, network: ui.network.value, client: 'browser',
    audio: { format: 'pcm16', sample_rate: RATE, channels: 1 } };
  const k = p.endpointing;
  const v = Number(ui.endpointing.value);
  const over = {};
  if (k && ui.endpointing.value !== '' && v !== Math.round(k.default_ms)) over[k.stage] = { [k.field]: `${v}ms` };
  if (k && k.stage === 'turn.semantic') {
    // The semantic model's accuracy is simulated against the script's
    // truth, which a live microphone cannot give ahead of time. Live, it
    // takes every silence for the end and commits after its delay: a
    // perfect classifier, except that it cannot tell a long pause from an
    // end.
    over[k.stage] = { ...over[k.stage], premature_probability: 1, late_probability: 0 };
  }
  if (Object.keys(over).length) msg.overrides = over;
  const reply = params.get('reply') || (ui.long.checked ? LONG_ANSWER : '');
  if (reply) msg.replies = [{ text: '*', reply }];
  return msg;
}

function setRunning(on) {
  ui.start.disabled = on;
  ui.stop.disabled = !on;
  for (const el of [ui.preset, ui.network, ui.long]) el.disabled = on;
  ui.endpointing.disabled = on || !(currentPreset() || {}).endpointing;
}

async function start() {
  banner('');
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    banner(`The microphone needs a secure page: open http://localhost:${location.port || 80}/ on this machine, ` +
      'or run voicesim serve --tls-self-signed and use https://.');
    return;
  }
  if (typeof AudioWorkletNode === 'undefined') {
    banner('This browser has no AudioWorklet; use a current Chromium or Firefox.');
    return;
  }
  setRunning(true);
  status('Asking for the microphone…');
  const sess = { preset: ui.preset.value, network: ui.network.value, closedByUs: false };
  s = sess;
  try {
    sess.ctx = new AudioContext({ latencyHint: 'interactive' });
    await sess.ctx.resume();
    sess.media = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    await sess.ctx.audioWorklet.addModule('capture-worklet.js');
    await sess.ctx.audioWorklet.addModule('playout-worklet.js');
  } catch (err) {
    fail(sess, micError(err));
    return;
  }
  if (s !== sess) return;
  status('Connecting…');
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/ws`);
  ws.binaryType = 'arraybuffer';
  sess.ws = ws;
  ws.onopen = () => ws.send(JSON.stringify(startMessage()));
  ws.onmessage = (e) => onMessage(sess, e.data);
  ws.onerror = () => {};
  ws.onclose = (e) => onClose(sess, e);
}

function micError(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Microphone access was denied. Allow it for this site (the icon in the address bar) and press Start again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No microphone was found. Plug one in and press Start again.';
    case 'NotReadableError':
      return 'The microphone is in use by another application or could not be opened.';
  }
  return `Could not start audio: ${err && err.message ? err.message : err}`;
}

function fail(sess, text) {
  banner(text);
  teardown(sess);
  status('Stopped.');
}

// begin wires the audio graph once the server has accepted the session.
function begin(sess, started) {
  sess.info = started;
  const ctx = sess.ctx;
  const track = sess.media.getAudioTracks()[0];
  const settings = track.getSettings ? track.getSettings() : {};
  // Firefox reports no input latency: there it counts as zero (see
  // PROTOCOL.md, Clocks).
  sess.inLat = typeof settings.latency === 'number' ? settings.latency : 0;
  sess.outLat = ctx.outputLatency || ctx.baseLatency || 0;
  const playCfg = (started.client_stages || []).find((c) => c.stage.startsWith('playout.'));
  const depthMs = playCfg && playCfg.config && parseMs(playCfg.config.depth);
  sess.play = new AudioWorkletNode(ctx, 'voicesim-playout', { numberOfInputs: 0, outputChannelCount: [2],
    processorOptions: { depthMs: depthMs ?? 40 } });
  sess.play.connect(ctx.destination);
  sess.play.port.onmessage = (e) => onPlayout(sess, e.data);
  sess.cap = new AudioWorkletNode(ctx, 'voicesim-capture', { numberOfOutputs: 0 });
  sess.cap.port.onmessage = (e) => onCapture(sess, e.data);
  sess.src = ctx.createMediaStreamSource(sess.media);
  sess.src.connect(sess.cap);
  sess.detector = new Detector((t) => sendTruth(sess, t), () => sess.playing);
  sess.responses = new Map(); // response → {firstAudio, started, turn}
  sess.turns = new Map(); // turn → {end, v2v, metrics, row}
  sess.playing = false;
  status(`Listening — ${started.preset}, network ${started.network}. Speak, wait for the answer, talk over it.`, 'listening');
  waterfall.reset('Speak: the waterfall fills in as your turn is processed.');
}

function parseMs(v) {
  if (typeof v !== 'string') return undefined;
  const m = /^([\d.]+)(ms|s)$/.exec(v);
  return m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : undefined;
}

// streamMs converts a context time to stream time.
function streamMs(sess, ctxTime) { return (ctxTime - sess.t0) * 1000; }

// ctxNow is the context time being rendered now: the clock the capture
// worklet stamps samples with, so "now" and the stream's samples agree.
// (getOutputTimestamp would give the time being heard, an output latency
// behind it.)
function ctxNow(sess) { return sess.ctx.currentTime; }

function nowMs(sess) { return sess.t0 === undefined ? 0 : streamMs(sess, ctxNow(sess)); }

function onCapture(sess, m) {
  if (m.type === 'start') {
    // Stream time zero: when the first captured sample was spoken.
    sess.t0 = m.frame / m.rate - sess.inLat;
    return;
  }
  if (sess.ws.readyState !== WebSocket.OPEN) return;
  sess.ws.send(m.pcm.buffer);
  ui.level.value = Math.max(-90, m.level);
  sess.detector.frame(m.seq, m.level);
}

function sendTruth(sess, t) {
  // t: {name, sample, turn, value}
  sess.ws.send(JSON.stringify({ type: 'truth', ...t }));
  if (t.name === 'user.speech_end') {
    const turn = ensureTurn(sess, t.turn);
    turn.end = t.sample / (RATE / 1000);
    matchPlayback(sess);
    ui.turnNo.textContent = String(t.turn);
  } else {
    ensureTurn(sess, t.turn).start = t.sample / (RATE / 1000);
  }
}

function ensureTurn(sess, k) {
  let t = sess.turns.get(k);
  if (!t) { t = { k }; sess.turns.set(k, t); }
  return t;
}

// matchPlayback gives each ended turn its client voice_to_voice: from its
// end to the first sample of the first answer that started after it.
function matchPlayback(sess) {
  for (const t of sess.turns.values()) {
    if (t.end === undefined || t.v2v !== undefined) continue;
    let best;
    for (const r of sess.responses.values()) {
      if (r.startedMs !== undefined && r.startedMs > t.end && (best === undefined || r.startedMs < best)) best = r.startedMs;
    }
    const next = sess.turns.get(t.k + 1);
    if (best !== undefined && !(next && next.start !== undefined && best > next.start)) {
      t.v2v = best - t.end;
      ui.v2vClient.textContent = fmtMs(t.v2v);
      renderRow(sess, t);
    }
  }
}

function onMessage(sess, data) {
  if (data instanceof ArrayBuffer) return onAudio(sess, data);
  let m;
  try { m = JSON.parse(data); } catch { return; }
  switch (m.type) {
    case 'session.started': begin(sess, m); break;
    case 'mark': waterfall.mark(m, () => nowMs(sess)); if (m.name === 'response.text') ui.transcript.textContent = `Assistant: “${m.text}”`; break;
    case 'speech.started': ui.turnState.textContent = '— you are speaking'; break;
    case 'speech.stopped': ui.turnState.textContent = '— waiting for the answer'; waterfall.provisionalEnd(m.stream_ms); break;
    case 'response.done': sess.play.port.postMessage({ type: 'done', response: m.response }); break;
    case 'response.interrupted':
      sess.play.port.postMessage({ type: 'flush', response: m.response });
      ui.turnState.textContent = m.cancelled ? '— answer cancelled' : '— you interrupted the assistant';
      break;
    case 'turn.metrics': onTurnMetrics(sess, m); break;
    case 'session.summary': sess.summary = m; break;
    case 'error':
      if (m.fatal) banner(`Server: ${m.message} (${m.code})`);
      else console.warn('voicesim server:', m.code, m.message);
      break;
  }
}

function onAudio(sess, buf) {
  const dv = new DataView(buf);
  const response = dv.getUint32(0, true);
  const pcm = new Int16Array(buf, 12);
  let r = sess.responses.get(response);
  if (!r) {
    r = {};
    sess.responses.set(response, r);
    // First audio of the response reached the client: now.
    sendPlayback(sess, 'first_audio', response, nowMs(sess));
  }
  sess.play.port.postMessage({ type: 'audio', response, pcm }, [buf]);
}

function onPlayout(sess, m) {
  if (sess.t0 === undefined) return;
  // When the rendered sample reaches the ear.
  const ear = streamMs(sess, m.frame / sess.ctx.sampleRate + sess.outLat);
  const r = sess.responses.get(m.response) || {};
  sess.responses.set(m.response, r);
  switch (m.type) {
    case 'started':
      r.startedMs = ear;
      sess.playing = true;
      sendPlayback(sess, 'started', m.response, ear);
      matchPlayback(sess);
      ui.turnState.textContent = '— the assistant is speaking';
      break;
    case 'stopped':
      sess.playing = false;
      r.playedMs = m.playedMs;
      sendPlayback(sess, 'stopped', m.response, ear, m.playedMs);
      ui.played.textContent = fmtMs(m.playedMs);
      if (m.reason === 'end') ui.turnState.textContent = '— your turn';
      break;
    case 'position':
      ui.played.textContent = fmtMs(m.playedMs);
      break;
  }
}

// sendPlayback reports a playback instant once it has happened: the
// worklet renders ahead of the ear by the output latency.
function sendPlayback(sess, event, response, atMs, playedMs) {
  const send = () => {
    if (sess.ws.readyState !== WebSocket.OPEN) return;
    const msg = { type: 'playback', event, response, t_ms: Math.max(0, atMs) };
    if (playedMs !== undefined) msg.played_ms = playedMs;
    sess.ws.send(JSON.stringify(msg));
  };
  const wait = atMs - nowMs(sess);
  if (wait > 1) setTimeout(send, wait); else send();
}

function onTurnMetrics(sess, m) {
  const tm = m.turn;
  const t = ensureTurn(sess, tm.turn);
  t.metrics = tm;
  t.arch = m.arch;
  const v = tm.values || {};
  if (v.voice_to_voice !== undefined) ui.v2vServer.textContent = fmtMs(v.voice_to_voice / 1e6);
  if (v.barge_in_stop !== undefined) {
    ui.bargein.textContent = fmtMs(v.barge_in_stop / 1e6);
  }
  if (tm.answered) waterfall.final(tm);
  if (tm.truncated && tm.played_ms) ui.bargein.title = `${fmtMs(tm.played_ms)} of the answer played`;
  renderRow(sess, t);
  const prev = sess.turns.get(tm.turn - 1);
  if (v.barge_in_stop !== undefined && prev) {
    prev.bargeInStop = v.barge_in_stop / 1e6;
    waterfall.bargeIn(v.barge_in_stop / 1e6, prev.metrics ? prev.metrics.played_ms : undefined);
    renderRow(sess, prev);
  }
}

function seg(tm, ...names) {
  let sum = 0;
  let any = false;
  for (const sg of tm.breakdown || []) {
    if (names.includes(sg.name)) { sum += (sg.end_ns - sg.start_ns) / 1e6; any = true; }
  }
  return any ? sum : undefined;
}

function renderRow(sess, t) {
  if (!t.row) {
    t.row = document.createElement('tr');
    ui.rows.prepend(t.row);
    while (ui.rows.children.length > 30) ui.rows.lastChild.remove();
  }
  const tm = t.metrics || { values: {} };
  const v = tm.values || {};
  const barge = t.bargeInStop;
  const cells = [String(t.k), t.arch || sess.preset, sess.network,
    fmtMs(t.v2v), fmtMs(v.voice_to_voice !== undefined ? v.voice_to_voice / 1e6 : undefined),
    fmtMs(seg(tm, 'endpointing')),
    fmtMs(seg(tm, 'stt_final', 'llm_queue', 'llm_ttft', 'sentence_aggregation', 'tts_ttfb', 'native_ttfa')),
    fmtMs(seg(tm, 'network_up', 'network_down')), fmtMs(seg(tm, 'playout')),
    tm.played_ms !== undefined ? fmtMs(tm.played_ms) + (tm.truncated ? ' (cut)' : '') : '—',
    barge !== undefined ? fmtMs(barge) : ''];
  t.row.replaceChildren(...cells.map((c) => { const td = document.createElement('td'); td.textContent = c; return td; }));
  t.row.className = barge !== undefined ? 'barge' : '';
  Object.assign(t.row.dataset, { turn: t.k, arch: t.arch || sess.preset });
  if (t.v2v !== undefined) t.row.dataset.v2vClient = t.v2v.toFixed(1);
  if (v.voice_to_voice !== undefined) t.row.dataset.v2vServer = (v.voice_to_voice / 1e6).toFixed(1);
  if (tm.played_ms !== undefined) t.row.dataset.playedMs = tm.played_ms.toFixed(0);
  if (tm.truncated) t.row.dataset.truncated = '1';
  if (barge !== undefined) t.row.dataset.bargeInStop = barge.toFixed(1);
  renderByArch();
}

function renderByArch() {
  const by = new Map();
  for (const tr of ui.rows.children) {
    const v = Number(tr.dataset.v2vClient);
    if (!tr.dataset.v2vClient || !Number.isFinite(v)) continue;
    const a = by.get(tr.dataset.arch) || { n: 0, sum: 0 };
    a.n++; a.sum += v;
    by.set(tr.dataset.arch, a);
  }
  ui.byArch.textContent = [...by].map(([a, x]) => `${a}: mean ${fmtMs(x.sum / x.n)} over ${x.n} turn${x.n > 1 ? 's' : ''}`).join(' · ');
}

function onClose(sess, e) {
  if (s === sess && !sess.closedByUs) {
    let why;
    switch (e.code) {
      case 1006: why = 'The connection to the server dropped. Is voicesim serve still running?'; break;
      case 1001: why = `The server closed the session: ${e.reason || 'going away'}.`; break;
      default: why = `The server closed the session (${e.code}${e.reason ? ': ' + e.reason : ''}).`;
    }
    banner(why);
  }
  teardown(sess);
  if (s === sess || s === null) status(sess.closedByUs ? 'Stopped.' : 'Disconnected.');
}

function teardown(sess) {
  if (sess.cap) { sess.cap.port.postMessage('stop'); sess.cap.disconnect(); }
  if (sess.src) sess.src.disconnect();
  if (sess.play) sess.play.disconnect();
  if (sess.media) for (const tr of sess.media.getTracks()) tr.stop();
  if (sess.ctx && sess.ctx.state !== 'closed') sess.ctx.close().catch(() => {});
  if (sess.ws && sess.ws.readyState <= WebSocket.OPEN && !sess.closedByUs) sess.ws.close();
  if (s === sess) { s = null; setRunning(false); }
}

function stop() {
  const sess = s;
  if (!sess) return;
  sess.closedByUs = true;
  status('Stopping…');
  if (sess.ws && sess.ws.readyState === WebSocket.OPEN) {
    sess.ws.send(JSON.stringify({ type: 'stop' })); // the server answers with its summary, then closes
    setTimeout(() => teardown(sess), 2000);
  } else {
    teardown(sess);
  }
}

ui.preset.addEventListener('change', presetChanged);
ui.start.addEventListener('click', start);
ui.stop.addEventListener('click', stop);
window.voicesim = { get session() { return s; } };
loadPresets().then(() => {
  if (params.has('autostart')) start();
}).catch((err) => banner(`Could not load the architectures: ${err.message}`));
