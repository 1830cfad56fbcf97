#!/usr/bin/env python3
"""A TCP relay that holds every byte for a fixed time in each direction: one-way latency on a path,
for kernels built without tc netem (CONFIG_NET_SCH_NETEM), where `tc qdisc ... netem delay` fails.

    delay-relay.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS

Every connection accepted on LISTEN is relayed to TARGET; the bytes read from either side are written
to the other DELAY_MS after they were read, in order (so a round trip gains 2 x DELAY_MS). It buffers
without limit and adds no loss. Prints "relaying" once it listens.
"""
import asyncio
import sys
import time


async def pump(reader, writer, delay):
    """Copies reader to writer, each chunk `delay` seconds after it was read; closes writer at EOF."""
    queue = asyncio.Queue()

    async def deliver():
        try:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(1 << 16)
            queue.put_nowait((time.monotonic() + delay, data))
            if not data:
                break
    except (ConnectionError, OSError):
        queue.put_nowait((time.monotonic(), b""))
    await sender


async def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    listen_host, listen_port, target_host, target_port, delay_ms = sys.argv[1:]
    delay = float(delay_ms) / 1000

    async def accept(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(target_host, int(target_port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, upstream_writer, delay), pump(upstream_reader, client_writer, delay))

    server = await asyncio.start_server(accept, listen_host, int(listen_port))
    print("relaying", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
