// `pg` writes every protocol message of a query (Parse, Bind, Describe, Execute, Sync) to its
// socket separately: five system calls and often five TCP segments per statement. Profiling the
// orders service under the saga benchmark put 14% of its CPU in those writes. This socket corks
// itself on the first write of a tick and uncorks at the end of it, so what is written in one
// tick leaves in one write. Nothing else changes: the bytes and their order are the same.
//
// pg corks and uncorks the socket itself around each prepared statement it sends, so the cork
// here is taken whether or not the socket is corked already: otherwise pg's uncork would send
// each statement on its own, and the statements a transaction sends without waiting (see
// pipelined-client.ts) would each cost a system call again.
import { Socket } from 'node:net';

export function coalescingSocket(): Socket {
  const socket = new Socket();
  const coalesce = () => {
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    let corked = false;
    socket.write = ((...args: unknown[]) => {
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      return write(...args);
    }) as Socket['write'];
  };
  // net.Socket#connect puts the prototype's write back; this listener runs before pg's own
  // 'connect' handler, so even the start-up message goes through the coalescing write.
  socket.once('connect', coalesce);
  return socket;
}
