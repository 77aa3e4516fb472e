/**
 * The job summary (GITHUB_STEP_SUMMARY): markdown shown on the workflow run's page. GitHub
 * refuses a step's summary over 1 MiB (and then shows none of it), so appends are cut to fit.
 */
import { appendFile, stat } from "node:fs/promises";

/** GitHub's limit on one step's job summary, in bytes. */
export const SUMMARY_MAX_BYTES = 1024 * 1024;

const CUT_NOTE = "\n\n… (cut: a step's job summary is limited to 1 MiB)\n";

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** `text` cut to at most `bytes` UTF-8 bytes, never in the middle of a character. */
export function cutUtf8(text: string, bytes: number): string {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= bytes) return text;
  let end = Math.max(0, bytes);
  // Step back over continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString("utf8");
}

/** Append `markdown` (and a line break) to the job summary file, cut to stay under the limit. */
export async function appendJobSummary(file: string, markdown: string): Promise<void> {
  const text = markdown.endsWith("\n") ? markdown : `${markdown}\n`;
  const room = SUMMARY_MAX_BYTES - (await sizeOf(file));
  if (Buffer.byteLength(text, "utf8") <= room) {
    await appendFile(file, text, "utf8");
    return;
  }
  const noteBytes = Buffer.byteLength(CUT_NOTE, "utf8");
  if (room <= noteBytes) return;
  await appendFile(file, cutUtf8(text, room - noteBytes) + CUT_NOTE, "utf8");
}
