/** The heartbeat messages: outside the request protocol, answered by the worker entry before the host. */
export const HEARTBEAT_PING = 'uae:ping';
export const HEARTBEAT_PONG = 'uae:pong';

/** Returns true when `data` is a heartbeat message of `kind` ({type: 'uae:ping'} or {type: 'uae:pong'}). */
export function isHeartbeat(data: unknown, kind: typeof HEARTBEAT_PING | typeof HEARTBEAT_PONG): boolean {
  return typeof data === 'object' && data !== null && (data as { type?: unknown }).type === kind;
}
