/**
 * The UDP bench's upstream: every datagram goes back to its sender, whole.
 *
 *   node --import tsx bench/udp-echo.ts PORT
 */
import { createSocket } from 'node:dgram';

const port = Number(process.argv[2]);
const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
socket.on('message', (data, from) => {
  socket.send(data, from.port, from.address);
});
socket.bind(port, '127.0.0.1', () => {
  process.stdout.write(`listening on 127.0.0.1:${port}/udp\n`);
});
