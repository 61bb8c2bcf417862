import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, errorBody } from './errors';

/**
 * Node's HTTP parser refuses some requests before Express sees them (headers over 16 KiB, a
 * client too slow to send its headers within `headersTimeout`, bytes that are not HTTP). By
 * default Node answers those with a bare status line; this answers them in the documented JSON
 * error shape with a stable code, so a hostile or broken client still gets a 4xx it can read.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // A reset peer, or a response already under way on this socket: nothing sensible to write.
  const busy = (socket as Duplex & { _httpMessage?: unknown })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || busy) {
    socket.destroy();
    return;
  }
  const apiErr =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiError('headers_too_large', 'The request headers are too large.')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ApiError('request_timeout', 'The request was not received in time.')
        : new ApiError('validation_failed', 'The request is malformed.', [{ path: 'request', message: 'not a valid HTTP request' }]);
  const body = JSON.stringify(errorBody(apiErr));
  socket.end(
    `HTTP/1.1 ${apiErr.status} ${STATUS_CODES[apiErr.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
