// Detector finds the user's utterances in the microphone frames — the
// page's stand-in for ground truth, which a live microphone does not have.
// An energy detector with an adaptive noise floor: speech starts when three
// frames in a row (60 ms) rise 15 dB above the floor, and ends at the last
// voiced frame once 500 ms of silence follow. Utterances under 200 ms of
// voicing (clicks, coughs) are dropped. Start and end are reported together
// when the end is known, as sample positions on the stream clock, so the
// server can place them exactly however late they arrive.

const FRAME = 480;
const START_FRAMES = 3;
const HANGOVER_FRAMES = 25;
const MIN_VOICED_FRAMES = 10;

export class Detector {
  constructor(report, assistantPlaying) {
    this.report = report;
    this.assistantPlaying = assistantPlaying;
    this.floor = -60;
    this.run = 0;
    this.candidate = 0;
    this.speaking = false;
    this.onset = 0;
    this.lastVoicedEnd = 0;
    this.silent = 0;
    this.voiced = 0;
    this.bargeIn = false;
    this.turn = 0;
  }

  frame(seq, level) {
    const start = seq * FRAME;
    const end = start + FRAME;
    const voiced = level > Math.max(this.floor + 15, -50);
    if (!this.speaking && !voiced) {
      // Follow the background, quickly down and slowly up.
      const a = level < this.floor ? 0.3 : 0.02;
      this.floor = Math.min(-25, Math.max(-95, this.floor + a * (level - this.floor)));
    }
    if (!this.speaking) {
      if (!voiced) { this.run = 0; return; }
      if (this.run++ === 0) this.candidate = start;
      if (this.run >= START_FRAMES) {
        this.speaking = true;
        this.onset = this.candidate;
        this.voiced = this.run;
        this.silent = 0;
        this.lastVoicedEnd = end;
        this.bargeIn = this.assistantPlaying();
      }
      return;
    }
    if (voiced) {
      this.voiced++;
      this.silent = 0;
      this.lastVoicedEnd = end;
      return;
    }
    if (++this.silent < HANGOVER_FRAMES) return;
    this.speaking = false;
    this.run = 0;
    if (this.voiced < MIN_VOICED_FRAMES) return;
    const turn = this.turn++;
    this.report({ name: 'user.speech_start', sample: this.onset, turn, value: this.bargeIn ? 1 : 0 });
    this.report({ name: 'user.speech_end', sample: this.lastVoicedEnd, turn });
  }
}
