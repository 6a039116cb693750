#!/usr/bin/env bash
# Regenerates the scenario library's user speech: espeak-ng speaks each line,
# sox makes it 24 kHz mono 16-bit, lame encodes a small MP3. The MP3s are
# committed so runs need none of these tools; `make assets` runs this.
set -euo pipefail
cd "$(dirname "$0")"
for tool in espeak-ng sox lame; do
  command -v "$tool" >/dev/null || { echo "gen.sh: $tool not found (apt-get install -y espeak-ng sox lame)" >&2; exit 1; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# name|voice|words per minute|text
while IFS='|' read -r name voice wpm text; do
  [ -z "$name" ] && continue
  espeak-ng -v "$voice" -s "$wpm" -w "$tmp/$name.raw.wav" "$text"
  # 24 kHz mono; trim espeak-ng's own leading/trailing silence, then pad
  # exactly 200 ms of digital silence either side, so each clip's true
  # speech span starts at 200 ms and ends 200 ms before the clip does.
  sox "$tmp/$name.raw.wav" -r 24000 -c 1 -b 16 "$tmp/$name.wav" \
    silence 1 0.005 0.05% reverse silence 1 0.005 0.05% reverse pad 0.2 0.2
  lame --quiet -b 32 --resample 24 -m m "$tmp/$name.wav" "$name.mp3"
  printf '%s\t%s\n' "$name.mp3" "$text"
done <<'LINES'
weather|en-us|165|What's the weather like in Paris tomorrow?
weekend|en-us|165|And what about the weekend?
restaurant|en-us|165|Can you recommend a good restaurant near the Eiffel Tower?
stop|en-us|175|Wait, stop. Tell me about Rome instead.
uhhuh|en-us|260|uh-huh
yeah|en-us|240|yeah
thanks|en-us|165|Great, thanks a lot!
book1|en-gb|125|I'd like to book a table
book2|en-gb|125|for four people
book3|en-gb|125|on Friday evening, around eight.
explain|en-us|160|Can you explain how a jet engine works?
LINES
