#!/bin/bash
# Score the 10 preference renders (weak and strong performer of 5 passages) with this checkout's scorer and
# their score MIDI: `cadenza score` renders each performance MIDI with fluidsynth. Then
#   python eval/preference/make_render_items.py "$OUT" eval/preference/render_items.jsonl
# Usage (repo root): eval/preference/score_renders.sh OUT_DIR [SHARED_DIR]   (~4 s per item)
set -euo pipefail
OUT=${1:?output directory}
P=${2:-../shared}/data/percepiano
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True OMP_NUM_THREADS=1
while read -r key score; do
  [ -s "$OUT/$key.json" ] && continue
  python -m api.cli score --json --score "$P/score_midi/$score.mid" "$P/performance_midi/$key.mid" > "$OUT/$key.json.tmp"
  mv "$OUT/$key.json.tmp" "$OUT/$key.json"
done <<LIST
Beethoven_WoO80_var8_8bars_1_6 Beethoven_WoO80_var8_8bars_Score_6
Beethoven_WoO80_var8_8bars_2_6 Beethoven_WoO80_var8_8bars_Score_6
Beethoven_WoO80_var9_8bars_14_7 Beethoven_WoO80_var9_8bars_Score_7
Beethoven_WoO80_var9_8bars_24_7 Beethoven_WoO80_var9_8bars_Score_7
Beethoven_WoO80_var25_8bars_26_14 Beethoven_WoO80_var25_8bars_Score_14
Beethoven_WoO80_var25_8bars_14_14 Beethoven_WoO80_var25_8bars_Score_14
Schubert_D960_mv2_8bars_8_08 Schubert_D960_mv2_8bars_Score_08
Schubert_D960_mv2_8bars_5_08 Schubert_D960_mv2_8bars_Score_08
Schubert_D960_mv3_8bars_4_23 Schubert_D960_mv3_8bars_Score_23
Schubert_D960_mv3_8bars_2_23 Schubert_D960_mv3_8bars_Score_23
LIST
