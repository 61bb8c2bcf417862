/** One Server-Sent Events frame as CodeSpar's SDK reads it: `field: value` lines; a `:` line is a comment. */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
  /** The frame's text as received (without the blank line ending it). */
  raw: string;
}

/**
 * Splits received text the way CodeSpar's SDK does: frames on "\n\n", fields on "\n", each
 * `name: value` (one optional space after the colon). Returns the complete frames and the
 * unfinished tail to prepend to the next chunk. No CR handling: the API sends LF only, and a CR
 * left in a value makes a test see it.
 */
export function parseSseFrames(text: string): { frames: SseFrame[]; rest: string } {
  const parts = text.split('\n\n');
  const rest = parts.pop() ?? '';
  const frames = parts
    .filter((p) => p !== '')
    .map((raw) => {
      const frame: SseFrame = { raw };
      for (const line of raw.split('\n')) {
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === '') frame.comment = value;
        else if (name === 'id' || name === 'event') frame[name] = value;
        else if (name === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
      }
      return frame;
    });
  return { frames, rest };
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** Every frame received so far, in order (grows while the stream is open). */
  frames: SseFrame[];
  /** Resolves when the server ends the stream (or close() is called). */
  ended: Promise<void>;
  /** Resolves with the frames so far once `until` holds for them (checked on every frame); rejects if the stream ends first. */
  waitFor(until: (frames: SseFrame[]) => boolean): Promise<SseFrame[]>;
  /** The client goes away (aborts the request). */
  close(): Promise<void>;
}

/** Opens an event stream with fetch and parses it as it arrives (parseSseFrames). */
export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const frames: SseFrame[] = [];
  const waiters: { until: (f: SseFrame[]) => boolean; resolve: (f: SseFrame[]) => void; reject: (e: Error) => void }[] = [];
  let done = false;
  const check = () => {
    for (const w of [...waiters]) {
      if (w.until(frames)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve([...frames]);
      } else if (done) {
        waiters.splice(waiters.indexOf(w), 1);
        w.reject(new Error(`event stream ended before the awaited frames; got:\n${frames.map((f) => f.raw).join('\n\n')}`));
      }
    }
  };
  const ended = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        const parsed = parseSseFrames(buffer);
        buffer = parsed.rest;
        frames.push(...parsed.frames);
        check();
      }
    } catch {
      // Aborted by close(): the frames so far stay.
    } finally {
      done = true;
      check();
    }
  })();
  return {
    status: res.status,
    headers: res.headers,
    frames,
    ended,
    waitFor(until) {
      return new Promise((resolve, reject) => {
        waiters.push({ until, resolve, reject });
        check();
      });
    },
    async close() {
      abort.abort();
      await ended;
    },
  };
}
