import { encodeMcPacket } from './minecraft-packet.js';
import { encodeMcString } from './minecraft-varint.js';

/**
 * Disconnect (login), packet 0x00 in the login state: the client shows
 * `message` on its "disconnected" screen instead of a timeout. The reason is a
 * JSON text component in every version, including 1.20.3 and later, where
 * only the configuration and play states moved to NBT. Send it in answer to
 * Login Start (before any Set Compression or encryption), then close.
 */
export function encodeLoginDisconnect(message: string): Buffer {
  return encodeMcPacket(0x00, encodeMcString(JSON.stringify({ text: message })));
}
