"""A scripted TCP receiver for the ADS-B feed tests (Beast, AVR, SBS): a real socket on a free port."""

from __future__ import annotations

import asyncio


class Server:
    """Serves one scripted payload per connection: ``(bytes, then_close)``; past the script, and
    after a payload not followed by a close, it keeps the connection open and silent."""

    def __init__(self, script):  # type: ignore[no-untyped-def]
        self.script = list(script)
        self.connections = 0
        self.server = None

    async def handle(self, reader, writer):  # type: ignore[no-untyped-def]
        i = self.connections
        self.connections += 1
        if i < len(self.script):
            payload, close = self.script[i]
            writer.write(payload)
            await writer.drain()
            if close:
                writer.close()
                await writer.wait_closed()
                return
        await asyncio.sleep(60)

    async def __aenter__(self):  # type: ignore[no-untyped-def]
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):  # type: ignore[no-untyped-def]
        self.server.close()
