"""The sender's SMTP sessions: pipelining (RFC 2920) when offered, one command at a time when
not, refusals that leave the session usable, DATA framing, STARTTLS and AUTH, broken servers."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from peyvand.messaging import smtp
from peyvand.messaging.smtp import DEFERRED, FAILED, SENT, Connection, Session, SmtpConfig
from tests.messaging.sink import Handler, free_port


def _run(coro):
    """asyncio.run in a thread of its own: in the whole suite the browser tests' Playwright
    keeps an event loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


MESSAGE = b"From: a@shop.example\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n"


class ScriptedServer:
    """A raw SMTP server that offers PIPELINING, answers from a table and keeps every chunk
    it reads, so a test can see which commands came in one write."""

    def __init__(self, refuse: dict[bytes, bytes] | None = None, greeting=b"220 ready\r\n",
                 eight_bit: bool = True):
        self.refuse = refuse or {}
        self.greeting = greeting
        self.features = b"250-scripted\r\n250-PIPELINING\r\n250 8BITMIME\r\n" if eight_bit \
            else b"250-scripted\r\n250 PIPELINING\r\n"
        self.chunks: list[bytes] = []
        self.messages: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        writer.write(self.greeting)
        in_data, body = False, b""
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                self.chunks.append(chunk)
                buffer = chunk
                while buffer:
                    if in_data:
                        framed = b"\r\n" + body + buffer  # an empty message is just ".\r\n"
                        end = framed.find(b"\r\n.\r\n")
                        if end < 0:
                            body += buffer
                            break
                        if end:
                            self.messages.append(framed[2:end + 2])
                        buffer = framed[end + 5:]
                        in_data, body = False, b""
                        writer.write(b"250 2.0.0 queued\r\n")
                        continue
                    line, _, buffer = buffer.partition(b"\r\n")
                    verb = line.split(b" ")[0].split(b":")[0].upper()
                    for prefix, reply in self.refuse.items():
                        if line.startswith(prefix):
                            writer.write(reply + b"\r\n")
                            break
                    else:
                        if verb == b"EHLO":
                            writer.write(self.features)
                        elif verb == b"DATA":
                            in_data = True
                            writer.write(b"354 go on\r\n")
                        elif verb == b"QUIT":
                            writer.write(b"221 bye\r\n")
                            await writer.drain()
                            writer.close()
                            return
                        else:
                            writer.write(b"250 ok\r\n")
                await writer.drain()
        except ConnectionError:
            return


async def _with_server(server: ScriptedServer, body):
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        return await body(SmtpConfig(host="127.0.0.1", port=port, timeout=5))
    finally:
        listener.close()


def test_pipelining_sends_the_envelope_in_one_write():
    server = ScriptedServer()

    async def body(config):
        session = await Session.open(config)
        assert session.pipelining
        outcomes = [await session.send("bounce@shop.example", f"p{i}@example.com", MESSAGE)
                    for i in range(3)]
        await session.quit()
        return outcomes

    outcomes = _run(_with_server(server, body))
    assert [o.kind for o in outcomes] == [SENT] * 3
    assert outcomes[0].code == 250 and outcomes[0].reply == "2.0.0 queued"
    envelopes = [c for c in server.chunks if c.startswith(b"MAIL FROM:")]
    assert envelopes[0] == (b"MAIL FROM:<bounce@shop.example>\r\nRCPT TO:<p0@example.com>\r\n"
                            b"DATA\r\n")
    assert len(envelopes) == 3
    assert server.messages == [MESSAGE] * 3


@pytest.mark.parametrize("offered", [True, False])
def test_8bit_messages_say_so_and_wait_for_a_server_that_takes_them(offered):
    server = ScriptedServer(eight_bit=offered)
    raw = "Subject: سلام\r\nContent-Transfer-Encoding: 8bit\r\n\r\nسلام\r\n".encode()

    async def body(config):
        session = await Session.open(config)
        assert session.eight_bit is offered
        outcome = await session.send("bounce@shop.example", "p@example.com", raw,
                                     eight_bit=True)
        await session.quit()
        return outcome

    outcome = _run(_with_server(server, body))
    if offered:
        assert outcome.kind == SENT and server.messages == [raw]
        assert server.chunks[1].startswith(b"MAIL FROM:<bounce@shop.example> BODY=8BITMIME\r\n")
    else:  # deferred unsent; the sender builds it again as base64
        assert outcome.kind == DEFERRED and "8-bit" in outcome.reply
        assert not server.messages and not any(c.startswith(b"MAIL") for c in server.chunks)


def test_a_refused_recipient_in_a_pipelined_group_leaves_the_session_usable():
    server = ScriptedServer(refuse={b"RCPT TO:<gone@": b"550 5.1.1 no such user",
                                    b"RCPT TO:<later@": b"451 4.7.1 greylisted"})

    async def body(config):
        session = await Session.open(config)
        gone = await session.send("b@shop.example", "gone@example.com", MESSAGE)
        later = await session.send("b@shop.example", "later@example.com", MESSAGE)
        ok = await session.send("b@shop.example", "ok@example.com", MESSAGE)
        await session.quit()
        return gone, later, ok

    gone, later, ok = _run(_with_server(server, body))
    assert (gone.kind, gone.code) == (FAILED, 550) and "no such user" in gone.reply
    assert (later.kind, later.code) == (DEFERRED, 451)
    assert ok.kind == SENT
    # DATA was answered 354 after the refusal: an empty message was ended, then RSET
    assert b"".join(server.chunks).count(b"RSET\r\n") == 2
    assert server.messages[-1] == MESSAGE


@pytest.mark.parametrize(("raw", "canonical"), [
    (b"Subject: dots\n\n.first line\r\n..two\nlast", False),
    # what mime builds (CRLF already): not re-checked, still dot-stuffed
    (b"Subject: dots\r\n\r\n.first line\r\n..two\r\nlast", True),
])
def test_data_is_framed_dot_stuffed_and_in_crlf(raw, canonical):
    server = ScriptedServer()

    async def body(config):
        session = await Session.open(config)
        outcome = await session.send("b@shop.example", "x@example.com", raw,
                                     canonical=canonical)
        await session.quit()
        return outcome

    assert _run(_with_server(server, body)).kind == SENT
    assert server.messages == [b"Subject: dots\r\n\r\n..first line\r\n...two\r\nlast\r\n"]


def test_a_staged_message_is_accepted_only_when_completed():
    server = ScriptedServer()

    async def body(config):
        conn = Connection(config)
        assert await conn.stage("b@shop.example", "x@example.com", MESSAGE) is None
        await asyncio.sleep(0.1)
        before = list(server.messages)  # the body went, the final dot not yet
        outcome = await conn.complete()
        # a staged message dropped with its session: no QUIT read as its text, nothing sent
        assert await conn.stage("b@shop.example", "y@example.com", MESSAGE) is None
        await conn.close()
        await asyncio.sleep(0.1)
        return before, outcome

    before, outcome = _run(_with_server(server, body))
    assert before == [] and outcome.kind == SENT
    assert server.messages == [MESSAGE]
    assert b"QUIT" not in b"".join(server.chunks)


def test_without_pipelining_one_command_at_a_time():
    handler = Handler()
    handler.tempfail.add("later@example.com")
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), decode_data=False)
    controller.start()
    try:
        async def body():
            conn = Connection(SmtpConfig(host="127.0.0.1", port=controller.port, timeout=5))
            results = [await conn.send("b@shop.example", rcpt, MESSAGE) for rcpt in
                       ("a@example.com", "nouser@example.com", "later@example.com",
                        "c@example.com")]
            assert conn.session is not None and not conn.session.pipelining
            await conn.close()
            return results

        results = _run(body())
    finally:
        controller.stop()
    assert [(r.kind, r.code) for r in results] == [
        (SENT, 250), (FAILED, 550), (DEFERRED, 451), (SENT, 250)]
    assert [r[1] for r in handler.received] == [["a@example.com"], ["c@example.com"]]


def test_addresses_that_could_inject_commands_are_refused_unsent():
    server = ScriptedServer()

    async def body(config):
        session = await Session.open(config)
        outcome = await session.send("b@shop.example", "x@example.com>\r\nRCPT TO:<y@e.com",
                                     MESSAGE)
        await session.quit()
        return outcome

    outcome = _run(_with_server(server, body))
    assert outcome.kind == FAILED and "not allowed" in outcome.reply
    assert not any(c.startswith(b"MAIL") for c in server.chunks)


@pytest.mark.parametrize("greeting", [b"220 ready\r\n", b"554 go away\r\n", b"garbage\r\n"])
def test_a_broken_server_defers_and_the_next_send_reconnects(greeting):
    server = ScriptedServer(greeting=greeting)

    async def body(config):
        conn = Connection(config)
        first = await conn.send("b@shop.example", "x@example.com", MESSAGE)
        server.greeting = b"220 ready\r\n"
        second = await conn.send("b@shop.example", "y@example.com", MESSAGE)
        await conn.close()
        return first, second

    first, second = _run(_with_server(server, body))
    assert second.kind == SENT
    if greeting.startswith(b"220"):
        assert first.kind == SENT
    else:
        assert first.kind == DEFERRED and first.code is None
        assert first.reply.startswith("SmtpError")


def test_a_server_that_hangs_up_mid_message_defers_it():
    async def hang_up(reader, writer):
        writer.write(b"220 ready\r\n")
        await reader.readline()
        writer.write(b"250-x\r\n250 PIPELINING\r\n")
        await reader.readline()  # MAIL FROM, then the connection drops
        writer.close()

    async def body():
        listener = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        conn = Connection(SmtpConfig(host="127.0.0.1",
                                     port=listener.sockets[0].getsockname()[1], timeout=5))
        outcome = await conn.send("b@shop.example", "x@example.com", MESSAGE)
        listener.close()
        return outcome, conn.session

    outcome, session = _run(body())
    assert outcome.kind == DEFERRED and outcome.code is None and session is None


@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_then_auth(certificate, monkeypatch, mechanism):
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, method, data):
        def text(value):
            return value.decode() if isinstance(value, bytes) else value

        ok = isinstance(data, LoginPassword) and (text(data.login), text(data.password)) == (
            "shop", "p@ss word")
        logins.append((method, ok))
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535

    handler = Handler()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), decode_data=False,
        tls_context=server_tls, require_starttls=True, authenticator=authenticator,
        auth_require_tls=True, auth_required=True,
        auth_exclude_mechanism=["PLAIN"] if mechanism == "LOGIN" else [])
    controller.start()
    monkeypatch.setattr(smtp, "tls_context", lambda: ssl.create_default_context(
        cafile=str(cert)))
    try:
        config = smtp.parse_smtp_url(
            f"smtp://shop:p%40ss%20word@127.0.0.1:{controller.port}?starttls=1")
        config.timeout = 5

        async def body():
            conn = Connection(config)
            outcome = await conn.send("b@shop.example", "a@example.com", MESSAGE)
            await conn.close()
            return outcome

        outcome = _run(body())
        config.password = "wrong"
        refused = _run(body())
    finally:
        controller.stop()
    assert outcome.kind == SENT, outcome
    assert logins[0] == (mechanism, True)
    assert handler.received[0][0] == "b@shop.example"
    assert refused.kind == DEFERRED and "535" in refused.reply  # a bad password is not sent


def test_starttls_is_required_when_asked_for():
    server = ScriptedServer()  # offers no STARTTLS

    async def body(config):
        config.start_tls = True
        return await Connection(config).send("b@shop.example", "x@example.com", MESSAGE)

    outcome = _run(_with_server(server, body))
    assert outcome.kind == DEFERRED and "STARTTLS" in outcome.reply
    assert not server.messages


def test_a_reply_that_never_ends_defers_instead_of_growing():
    async def endless(reader, writer):
        writer.write(b"220 ready\r\n")
        await reader.readline()
        writer.write(b"250-more\r\n" * 5000)  # EHLO's reply, never finished
        await asyncio.sleep(1)
        writer.close()

    async def body():
        listener = await asyncio.start_server(endless, "127.0.0.1", 0)
        conn = Connection(SmtpConfig(host="127.0.0.1",
                                     port=listener.sockets[0].getsockname()[1], timeout=5))
        outcome = await conn.send("b@shop.example", "x@example.com", MESSAGE)
        listener.close()
        return outcome

    outcome = _run(body())
    assert outcome.kind == DEFERRED and "reply too long" in outcome.reply
