/**
 * Spotting captions that go round in circles, by the same rule as the BART container's loop guard
 * (sagemaker/music_captioner/loop_guard.py, which gives the measurements behind each threshold): the same word
 * three times in a row, a phrase of two to four words twice in a row, one bigram more than three times, or
 * (with at least eight bigrams) under 85 % distinct bigrams. The two must judge alike: a change to one is a
 * change to both.
 */

const MIN_DISTINCT_BIGRAM_SHARE = 0.85;
const MIN_BIGRAMS_FOR_SHARE = 8;
const MAX_BIGRAM_REPEATS = 3;
const MAX_SAME_WORD_RUN = 2;
const LONGEST_PHRASE_CHECKED = 4;

export interface LoopVerdict {
  looping: boolean;
  reasons: string[];
}

const wordsOf = (text: string): string[] => text.toLowerCase().match(/[a-z0-9']+/g) ?? [];

export function judgeLoop(text: string): LoopVerdict {
  const words = wordsOf(text);
  const reasons: string[] = [];
  if (words.length === 0) reasons.push('no words');

  let run = 0;
  for (let i = 0; i < words.length; i++) {
    run = i > 0 && words[i] === words[i - 1] ? run + 1 : 1;
    if (run === MAX_SAME_WORD_RUN + 1) reasons.push(`"${words[i]}" ${run} or more times in a row`);
  }

  outer: for (let size = 2; size <= LONGEST_PHRASE_CHECKED; size++) {
    for (let start = 0; start + 2 * size <= words.length; start++) {
      const phrase = words.slice(start, start + size).join(' ');
      if (phrase === words.slice(start + size, start + 2 * size).join(' ')) {
        reasons.push(`"${phrase}" twice in a row`);
        break outer;
      }
    }
  }

  const counts = new Map<string, number>();
  for (let i = 1; i < words.length; i++) {
    const bigram = `${words[i - 1]} ${words[i]}`;
    counts.set(bigram, (counts.get(bigram) ?? 0) + 1);
  }
  const [top, topCount] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  if (topCount > MAX_BIGRAM_REPEATS) reasons.push(`"${top}" ${topCount} times`);
  const bigrams = Math.max(0, words.length - 1);
  const share = bigrams === 0 ? 1 : counts.size / bigrams;
  if (bigrams >= MIN_BIGRAMS_FOR_SHARE && share < MIN_DISTINCT_BIGRAM_SHARE) reasons.push(`only ${Math.round(share * 100)}% distinct bigrams`);

  return { looping: reasons.length > 0, reasons };
}
