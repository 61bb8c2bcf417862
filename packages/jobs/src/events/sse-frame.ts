import type { JobStreamItem } from './job-events';

/**
 * One item as a Server-Sent Events frame (API.md): `id: <n>\nevent: <type>\ndata: <one JSON line>\n\n`,
 * or the comment `: keep-alive\n\n`. JSON.stringify escapes every line break inside strings, so
 * `data` is always one line; lone surrogates come out as `\udXXX` escapes (well-formed JSON).
 */
export function sseFrame(item: JobStreamItem): string {
  if (item.kind === 'keep-alive') return ': keep-alive\n\n';
  const { id, type, data } = item.event;
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}
