#!/bin/sh
# gen.sh regenerates the committed test clips in this directory.
#
# Tools used to produce the committed files (other versions may differ by a few
# samples, which the tests tolerate, but regenerate all files together):
#   eSpeak NG 1.51, SoX 14.4.2, LAME 3.100
#
# Every clip's ground truth is its padding: speech (or tone) occupies exactly
# the samples between the leading and trailing digital silence that sox adds.
#
#   file        rate   truth span (speech)                 notes
#   hello.wav   24000  [0.500 s, duration - 0.700 s]       espeak-ng sentence
#   hello.mp3   24000  same as hello.wav after LAME-tag    LAME ~32 kbps ABR mono
#                      delay/padding trimming
#   uhhuh.wav   24000  [0.300 s, duration - 0.300 s]       espeak-ng backchannel
#   onset.wav   24000  tone [0.250 s, 0.450 s]             1 kHz sine, hard onset
#   onset.mp3   24000  same as onset.wav                   LAME 64 kbps CBR mono
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# speak TEXT OUT LEAD TRAIL: synthesise TEXT with espeak-ng (22050 Hz), strip
# espeak-ng's trailing digital zeros (it starts speaking on sample 0 and ends
# on a hard cut followed by ~300 ms of exact zeros; the 0.01% threshold, i.e.
# |sample| >= 4, only removes those zeros), resample to 24 kHz with SoX's very
# high quality band-limited resampler, and pad with exact digital silence.
# -D disables dither so the padding stays bit-exact zero and the output is
# reproducible.
speak() {
	espeak-ng -w "$tmp/raw.wav" "$1"
	sox -D "$tmp/raw.wav" -r 24000 -c 1 -b 16 -e signed-integer "$2" \
		reverse silence 1 1s 0.01% reverse rate -v 24000 pad "$3" "$4"
}

speak "What's the weather like in Paris tomorrow?" hello.wav 0.5 0.7
speak "uh-huh" uhhuh.wav 0.3 0.3

# onset.wav: 200 ms of a 1 kHz sine at -6 dBFS that starts at phase 0 exactly
# at 250 ms (a sharp onset an MP3 decoder's alignment can be checked against).
# The rate given before -n makes synth run at 24 kHz; otherwise SoX would
# synthesise at 48 kHz and resample, smearing the onset.
sox -D -r 24000 -c 1 -n -b 16 -e signed-integer onset.wav \
	synth 0.2 sine 1000 gain -6 pad 0.25 0.05

# MP3s: LAME writes a Xing/Info frame with a LAME tag recording the encoder
# delay and end padding, which DecodeMP3 uses to trim the clip back into
# sample alignment with the source. -t is NOT passed, so the tag is written.
# LAME silently omits the tag when it does not fit in the first frame: a CBR
# frame at 24 kHz must be at least 56 kbps to hold it, so the ~32 kbps file
# uses ABR, for which LAME writes the tag frame at 64 kbps.
lame --quiet --noreplaygain -m m --abr 32 --resample 24 hello.wav hello.mp3
lame --quiet --noreplaygain -m m -b 64 --resample 24 onset.wav onset.mp3

for f in hello.wav uhhuh.wav onset.wav; do
	printf '%s: %s samples\n' "$f" "$(soxi -s "$f")"
done
