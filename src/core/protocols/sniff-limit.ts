/**
 * The most bytes read from a new connection to decide where it goes (issue 16):
 * 16 KiB, the largest TLS record's plaintext. Every sniffer in this folder
 * looks at no more than this, so a client that never completes its first
 * message costs a bounded buffer, and the listener's deadline covers the time.
 */
export const SNIFF_LIMIT = 16 * 1024;
