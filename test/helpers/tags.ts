/** A window's measurements for tests of the words built on them: a typical mid-tempo minor-key window, overridable. */
import type { WindowTags } from '#core/descriptors/types';

export const windowTags = (over: Partial<WindowTags> = {}): WindowTags => ({
  bpm: 97,
  bpmConfidence: 0.8,
  key: 'A minor',
  keyConfidence: 0.7,
  loudnessLufs: -14,
  shortTermMaxLufs: -12,
  rmsDbfs: -16,
  peakDbfs: -1,
  crestDb: 14,
  spectralCentroidHz: 900,
  onsetsPerSec: 2.5,
  silenceRatio: 0,
  percussiveRatio: 0.4,
  ...over,
});
