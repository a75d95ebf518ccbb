// The lines of a streamed response body: etcd's gateway streams (watch, lease keepalive,
// election observe) send one JSON message per line.

/**
 * Yields each complete line of `body` without its newline, as the bytes arrive; with
 * `unterminated`, also the text after the last newline when the stream ends. A failed read
 * (an aborted request) is thrown to the consumer.
 */
export async function* lines(body: ReadableStream<Uint8Array>, o: { unterminated?: boolean } = {}): AsyncGenerator<string> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (o.unterminated && buf !== "") yield buf;
}
