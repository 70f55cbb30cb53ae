/**
 * Thrown inside a sniffer when a length or field does not fit, and caught at
 * that sniffer's entry point, which answers `malformed` with the message. It
 * never leaves this folder: every exported reader returns a result instead.
 */
export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParseError';
  }
}
