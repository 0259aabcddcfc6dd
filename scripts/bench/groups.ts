import type { BenchEnv } from './foundation';
import { voiceBench } from './voice';
import { galleryBench } from './gallery';

/**
 * Issue 17, `npm run bench -- --only groups`: one section per measurement, in this order: voice
 * transcode throughput (scripts/bench/voice.ts), then the gallery page.
 */
const SECTIONS: Array<(env: BenchEnv) => Promise<{ markdown: string }>> = [voiceBench, galleryBench];

export async function groupsBench(env: BenchEnv): Promise<{ markdown: string }> {
  const parts: string[] = [];
  for (const section of SECTIONS) parts.push((await section(env)).markdown);
  return { markdown: parts.join('\n\n') };
}
