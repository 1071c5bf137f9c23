"""caliper-local against hostile clients: idle, half-sent and never-finished requests are closed,
connections over the cap are refused without harm, bodies over a route's limit are refused before
they are read (and the client still reads the answer), and guessing secrets is slowed.

Every wait here is bounded by a socket timeout far above the server's timeouts: a condition
awaited, never a timing asserted."""
import base64
import http.client
import json
import socket
import time
import urllib.parse
import urllib.request

from conftest import CLIENTS, ROOT, start_local

BOUND = 60  # seconds: what a closed connection may take to be seen closed, on a loaded machine


def connect(local, source="127.0.0.1"):
    """A connection from `source`: any address of 127.0.0.0/8 is this machine's."""
    return socket.create_connection(("127.0.0.1", local.port), timeout=BOUND, source_address=(source, 0))


def closed_or_answer(s):
    """Reads until the server closes: everything it sent (b"" if it closed without a word)."""
    answer = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return answer
        answer += chunk


def status_line(answer):
    return answer.split(b"\r\n", 1)[0].decode()


def test_idle_and_half_sent_requests_are_closed(tmp_path):
    local = start_local("embedded", tmp_path, "--idle-timeout", "1", "--header-timeout", "1")
    try:
        # Connected, nothing sent.
        with connect(local) as s:
            assert closed_or_answer(s) == b""
        # Half a header, then nothing.
        with connect(local) as s:
            s.sendall(b"POST /caliper/event HTTP/1.1\r\nHost: x\r\n")
            assert b" 201 " not in closed_or_answer(s)
        # Idle after a full exchange on a kept-alive connection.
        with connect(local) as s:
            s.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = closed_or_answer(s)
            assert status_line(answer).endswith("200 OK"), answer[:200]
        status, _ = local.request("GET", "/caliper/events")
        assert status == 200
    finally:
        local.stop()


def test_a_body_that_never_arrives_is_answered_408(tmp_path):
    local = start_local("embedded", tmp_path, "--body-timeout", "1")
    try:
        token = local.access_token()
        with connect(local) as s:
            s.sendall(
                f"POST /caliper/event HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"sensor\":".encode()
            )
            answer = closed_or_answer(s)
        assert " 408 " in status_line(answer), answer[:300]
        assert b'"status":"error"' in answer and b"did not arrive" in answer
        status, body = local.request("GET", "/caliper/events")
        assert (status, body["events"]) == (200, []), "nothing stored"
        # The token endpoint's form too: it holds no connection past the body timeout.
        basic = base64.b64encode(b"e2e-app:app-secret-0f3a9c2b").decode()
        with connect(local) as s:
            s.sendall(
                f"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {basic}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type".encode()
            )
            answer = closed_or_answer(s)
        assert " 408 " in status_line(answer), answer[:300]
        assert b"did not arrive" in answer
    finally:
        local.stop()


def test_a_connection_busy_for_ever_is_closed_at_its_greatest_age(tmp_path):
    # A client that keeps one connection busy (here: a request whenever the last is answered) is
    # closed after its request in flight once the connection is 2 s old; it would otherwise be kept.
    local = start_local("embedded", tmp_path, "--max-connection-age", "2")
    try:
        with connect(local) as s:
            deadline = time.monotonic() + BOUND
            while time.monotonic() < deadline:
                try:
                    s.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
                    answer = s.recv(65536)
                except (BrokenPipeError, ConnectionResetError):
                    break  # closed between two requests, as the client was sending
                if not answer or b"connection: close" in answer.lower():
                    break
            else:
                raise AssertionError(f"still open after {BOUND} s")
    finally:
        local.stop()


def served(local, source="127.0.0.1"):
    """A kept-alive connection the server answered 200 on. A 503 means a slot of a connection the
    client closed a moment ago is not free yet (the server sees the close later): try again."""
    deadline = time.monotonic() + BOUND
    while True:
        s = connect(local, source)
        s.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = s.recv(65536)
        if status_line(answer).endswith("200 OK"):
            return s
        s.close()
        assert b" 503 " in answer and time.monotonic() < deadline, answer[:300]


def test_connections_over_the_cap_are_answered_503_and_the_server_goes_on(tmp_path):
    local = start_local("embedded", tmp_path, "--max-connections", "4", "--idle-timeout", "3600")
    held = []
    try:
        # Four kept-alive connections, each answered: the cap is reached.
        held = [served(local) for _ in range(4)]
        with connect(local) as s:
            answer = closed_or_answer(s)
        assert " 503 " in status_line(answer) and b"retry-after: 1" in answer.lower(), answer
        assert b'"status":"error"' in answer
        # A slot freed is a slot served (awaited: the server sees the close a moment later).
        held.pop().close()
        held.append(served(local))
    finally:
        for s in held:
            s.close()
        local.stop()


def test_no_address_takes_the_slots_others_need(tmp_path):
    local = start_local("embedded", tmp_path, "--max-connections", "8", "--max-connections-per-address", "2",
                        "--idle-timeout", "3600")
    held = []
    try:
        held = [served(local, "127.0.0.2") for _ in range(2)]
        with connect(local, "127.0.0.2") as s:
            answer = closed_or_answer(s)
        assert " 503 " in status_line(answer), answer
        # Another address is served all the same.
        held.append(served(local, "127.0.0.3"))
    finally:
        for s in held:
            s.close()
        local.stop()


def test_bodies_over_a_routes_limit_are_refused_before_reading_and_the_answer_arrives(embedded):
    token, webhooks = embedded.access_token(), embedded.access_token("e2e-webhooks")
    basic = base64.b64encode(b"e2e-app:app-secret-0f3a9c2b").decode()
    # Declared over the limit, nothing sent: refused at once, no Expect needed.
    for head in (
        "POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Authorization: Basic {basic}\r\nContent-Length: 2000000\r\n\r\n",
        "POST /caliper/event HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: 60000000\r\n\r\n",
        # A webhook is a small document: 64 KiB at most.
        "POST /webhooks/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {webhooks}\r\nContent-Length: 100000\r\n\r\n",
        # A route that takes no body (the route table says so) reads none, declared or chunked.
        "GET /openapi.json HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n",
        "GET /openapi.json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n",
    ):
        with connect(embedded) as s:
            s.sendall(head.encode())
            answer = closed_or_answer(s)
        assert " 413 " in status_line(answer), (head, answer[:300])
    # A client that sends its 2 MB anyway, as most do, still reads the refusal (no reset).
    request = urllib.request.Request(
        embedded.url + "/oauth2/token", data=b"grant_type=client_credentials&x=" + b"x" * 2_000_000, method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"},
    )
    status, answer = embedded.call(request)
    assert (status, answer["error"]) == (413, "invalid_request"), answer


def test_a_closing_connection_is_drained_for_seconds_not_while_bytes_trickle(embedded):
    # Refused (413, a body declared over the limit), then one byte a second: under the 2 s gap
    # that ends draining, for as long as the client likes. The server stops reading and closes
    # (10 s at most): the connection's slot is not the trickler's for ever.
    s = connect(embedded)
    s.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
    answer = s.recv(65536)
    assert " 413 " in status_line(answer), answer[:300]
    sent = 0
    try:
        while sent < BOUND:
            s.sendall(b"x")
            sent += 1
            # The trickler's pace (a client's behaviour, not a wait for the server).
            time.sleep(1)
        raise AssertionError(f"still drained after {BOUND} s of trickling")
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        s.close()


def test_tiny_chunks_take_from_the_body_budget_only_the_bytes_they_hold(tmp_path):
    # An 8 MiB budget (the least); four bodies trickled in one-byte chunks to the one route that reads a body
    # without a token (a connector's: its body is the credential), never finished. Charged a KiB
    # per chunk they would hold 12 MiB of budget, all of it; charged by bytes, 12 KB.
    local = start_local("embedded", tmp_path, "--body-budget-mib", "8", "--body-timeout", "3600")
    held = []
    try:
        for _ in range(4):
            s = connect(local)
            s.sendall(b"POST /connectors/canvas/" + b"0" * 32 + b" HTTP/1.1\r\nHost: x\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n" + b"1\r\nx\r\n" * 3000)
            held.append(s)
        # A round trip on another connection gives the server time to read what they sent (on a
        # correct server nothing depends on it: the submission below passes either way).
        status, body = local.request("GET", "/caliper/events")
        assert status == 200, body
        # A submission of 600 KB still gets its share at once, not a 503 after the body timeout.
        envelope = {"sensor": "https://example.edu/sensor", "sendTime": "2024-01-01T00:00:00.000Z",
                    "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
                    "data": [{"id": f"https://example.edu/x/{n}", "type": "Entity", "name": "x" * 60_000}
                             for n in range(10)]}
        status, body = local.request("POST", "/caliper/event", envelope)
        assert status == 200, body
    finally:
        for s in held:
            s.close()
        local.stop()


def answer_of(local, request):
    """The status code and JSON body the server answers to raw `request` bytes."""
    with connect(local) as s:
        s.sendall(request)
        answer = closed_or_answer(s)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), answer[:300]
    return int(status_line(answer).split()[1]), json.loads(body)


def test_every_refusal_is_in_the_error_shape_even_the_http_layers(embedded):
    for request, status, path in [
        # Hyper's own: a request it cannot read at all.
        (b"GARBAGE\r\n\r\n", 400, ""),
        (b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400, ""),
        (b"GET /" + b"x" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, ""),
        (b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nX-Big: " + b"x" * 500_000 + b"\r\n\r\n", 431, "/headers"),
        # Ours, below hyper's buffer: refused whether or not hyper saw the head whole.
        (b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nX-Big: " + b"x" * 300_000 + b"\r\n\r\n", 431, "/headers"),
        # A body whose chunked framing is broken.
        (b"POST /connectors/canvas/" + b"0" * 32 + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"zz\r\nxx\r\n", 400, ""),
        # Ours: an unknown route, a method a route lacks, a body too large, the wrong content type.
        (b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404, None),
        (b"DELETE /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405, None),
        (b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n", 413, ""),
    ]:
        got, body = answer_of(embedded, request)
        assert got == status, (request[:80], body)
        assert body["status"] == "error" and body["message"] and isinstance(body["errors"], list), body
        if path is not None:
            assert [e["path"] for e in body["errors"]] == [path], body
    token = embedded.access_token()
    got, body = answer_of(embedded, f"POST /caliper/event HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                                    "Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".encode())
    assert got == 415 and body["errors"][0]["path"] == "/headers/content-type", body


def token_from(local, source, client, secret):
    """The token endpoint's answer (status, JSON) to `client:secret` sent from `source`."""
    connection = http.client.HTTPConnection("127.0.0.1", local.port, timeout=BOUND, source_address=(source, 0))
    try:
        basic = base64.b64encode(f"{client}:{secret}".encode()).decode()
        connection.request("POST", "/oauth2/token", body="grant_type=client_credentials",
                           headers={"Authorization": f"Basic {basic}",
                                    "Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        return response.status, json.loads(response.read()), response.headers
    finally:
        connection.close()


def test_guessers_are_slowed_and_cannot_lock_a_client_out(tmp_path):
    # One failure at once, then one a minute: the attempts below, however slow the machine, are
    # within the minute. A client with a short secret shares the address.
    log_file = ROOT / "target" / "caliper-local-e2e.log"
    mark = log_file.stat().st_size if log_file.exists() else 0
    local = start_local("embedded", tmp_path, "--auth-failures-per-minute", "1", "--client", "weak:pa55word:event.create")
    try:
        started = log_file.read_bytes()[mark:].decode(errors="replace")
        assert started.count("could be guessed") == 1 and "weak" in started, "the operator is warned of the short secret"
        log = local.args_log().read_text()
        logged = log.count("a token request refused")
        status, answer, _ = token_from(local, "127.0.0.1", "e2e-app", "guess-0f3a9c")
        assert (status, answer["error"]) == (401, "invalid_client")
        # The operator sees it (the client by a digest, the address, why), never the guess.
        log = local.args_log().read_text()
        assert log.count("a token request refused") == logged + 1 and "guess-0f3a9c" not in log
        # Guessing on from the same address: 429 with Retry-After, each guess refused.
        for guess in ("guess-1", "guess-2"):
            status, answer, headers = token_from(local, "127.0.0.1", "e2e-app", guess)
            assert (status, answer["error"]) == (429, "too_many_requests") and int(headers["Retry-After"]) >= 1
            assert "try again" in answer["error_description"]
        # The right secret, from that same address, is checked all the same and passes: the
        # guesser cannot lock the client out; nor another client of that address.
        for client in ("e2e-app", "e2e-other"):
            status, answer, _ = token_from(local, "127.0.0.1", client, CLIENTS[client][0])
            assert status == 200 and answer["access_token"], answer
        # From elsewhere, the same client id has failures of its own to make: one guess answered 401.
        status, answer, _ = token_from(local, "127.0.0.2", "e2e-app", "guess-3")
        assert (status, answer["error"]) == (401, "invalid_client")
        # A secret short enough to guess is refused unchecked while its address is throttled, as
        # the operator was warned; from another address it passes.
        status, answer, _ = token_from(local, "127.0.0.1", "weak", "pa55word")
        assert status == 429, answer
        status, answer, _ = token_from(local, "127.0.0.3", "weak", "pa55word")
        assert status == 200, answer
    finally:
        local.stop()


def test_hundreds_of_idle_connections_do_not_stop_the_api(embedded):
    # From three addresses, each within its share (256 by default), none of them the API's caller.
    held = [connect(embedded, f"127.0.0.{2 + n % 3}") for n in range(300)]
    try:
        status, reply = embedded.request("POST", "/caliper/event", {
            "sensor": "https://example.edu/sensors/1", "sendTime": "2024-05-01T12:00:00.000Z",
            "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2", "data": []})
        assert status in (200, 400), reply
        status, _ = embedded.request("GET", "/caliper/events")
        assert status == 200
    finally:
        for s in held:
            s.close()


def test_numbers_storage_would_change_are_refused_at_their_pointer(embedded):
    event = {"id": "urn:uuid:7e10e4f3-a0d8-4430-95bd-783ffae4d917", "type": "Event", "action": "Used",
             "actor": {"id": "https://example.edu/users/1", "type": "Person"},
             "object": {"id": "https://example.edu/apps/1", "type": "SoftwareApplication"},
             "eventTime": "2024-01-01T00:00:00.000Z", "extensions": {"big": 10 ** 40, "fine": 0.1}}
    body = {"sensor": "https://example.edu/sensor", "sendTime": "2024-01-01T00:00:00.000Z",
            "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2", "data": [event]}
    for number, path in [(str(10 ** 40), "/data/0/extensions/big"), ("1e-400", "/data/0/extensions/big")]:
        raw = json.dumps(body).replace(str(10 ** 40), number).encode()
        status, answer = embedded.request("POST", "/caliper/event", raw)
        assert status == 400, answer
        assert answer["errors"][0]["path"] == path and number[:10] in answer["errors"][0]["message"], answer
    # Sent as a string, or as a double holds it, it is stored as sent.
    event["extensions"]["big"] = str(10 ** 40)
    status, answer = embedded.request("POST", "/caliper/event", body)
    assert status == 200, answer
    assert embedded.wait_for_job(answer["jobId"])["state"] == "completed"
    status, stored = embedded.request("GET", "/caliper/events/" + urllib.parse.quote(event["id"], safe=""))
    assert stored["event"]["extensions"] == {"big": str(10 ** 40), "fine": 0.1}, stored
