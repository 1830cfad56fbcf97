"""Tests of relbert_client against fake servers and the real relbert binary.

Environment: RELBERT (the binary, default .build/release/relbert) and MODEL (default
models/all-MiniLM-L6-v2), relative paths taken from the repository root. The serve tests are skipped
while the binary has no `serve` subcommand, unless RELBERT_REQUIRE_SERVE=1. run-tests.sh sets all
this up; by hand: `RELBERT_PROTO_PATH=build/gen python test_client.py`.
"""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import zmq

from relbert_client import CurveKeys, RelbertClient, RelbertError, RelbertUnavailable, envelope_pb2, serving_pb2
from relbert.v1 import jobs_pb2

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RELBERT = os.path.join(ROOT, os.environ.get("RELBERT") or ".build/release/relbert")
MODEL = os.path.join(ROOT, os.environ.get("MODEL") or "models/all-MiniLM-L6-v2")
PAIRS = [("paris", "france"), ("puppy", "dog")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A relbert subprocess with its output in a log file."""

    def __init__(self, args):
        self.log = tempfile.NamedTemporaryFile(prefix="relbert-py-", suffix=".log", delete=False)
        self.process = subprocess.Popen([RELBERT] + args, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)

    def output(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()[-4000:]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # in case a test left it stopped
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        os.unlink(self.log.name)


class FakeServer:
    """A ROUTER in a thread; `handle(identity, header, frames)` returns the lists of frames (after the
    identity) to send back, possibly none."""

    def __init__(self, handle):
        self.handle = handle
        self.context = zmq.Context()
        self.router = self.context.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        port = self.router.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.requests = []  # (identity, Header)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            if not self.router.poll(50):
                continue
            identity, *frames = self.router.recv_multipart()
            header = envelope_pb2.Header.FromString(frames[0])
            self.requests.append((identity, header))
            for reply in self.handle(len(self.requests), header, frames):
                self.router.send_multipart([identity] + reply)

    def close(self):
        self.stopping.set()
        self.thread.join()
        self.router.close()
        self.context.term()


def reply_frames(request, body=b"", status=envelope_pb2.OK, message="", request_id=None, tensors=()):
    header = envelope_pb2.Header(version=1, method=request.method, is_reply=True, status=status, status_message=message,
                                 request_id=request.request_id if request_id is None else request_id)
    body = body if isinstance(body, bytes) else body.SerializeToString()
    return [header.SerializeToString(), body] + list(tensors)


class EnvelopeTests(unittest.TestCase):
    """The client's framing and retries, against a fake server."""

    def serve(self, handle):
        server = FakeServer(handle)
        self.addCleanup(server.close)
        client = RelbertClient(server.endpoint, timeout=0.5, retries=2)
        self.addCleanup(client.close)
        return server, client

    def test_request_envelope(self):
        server, client = self.serve(lambda n, h, f: [reply_frames(h, serving_pb2.InfoReply(dimension=7))])
        before = time.time()
        self.assertEqual(client.info().dimension, 7)
        _, header = server.requests[0]
        self.assertEqual((header.version, header.method, header.is_reply), (1, "serve.Info", False))
        self.assertGreater(header.request_id, 0)
        self.assertAlmostEqual(header.deadline_unix_ms / 1000, before + 0.5, delta=0.3)

    def test_late_reply_with_another_id_is_ignored(self):
        def handle(n, h, f):
            return [reply_frames(h, status=envelope_pb2.INTERNAL, message="stale", request_id=h.request_id - 1),
                    reply_frames(h, serving_pb2.InfoReply(dimension=5))]
        _, client = self.serve(handle)
        self.assertEqual(client.info().dimension, 5)

    def test_retry_on_a_fresh_socket(self):
        server, client = self.serve(lambda n, h, f: [] if n == 1 else [reply_frames(h, serving_pb2.InfoReply(dimension=3))])
        self.assertEqual(client.info().dimension, 3)
        (first, h1), (second, h2) = server.requests
        self.assertNotEqual(first, second)  # a new socket, so a new routing identity
        self.assertNotEqual(h1.request_id, h2.request_id)

    def test_gives_up_after_the_retries(self):
        server, client = self.serve(lambda n, h, f: [])
        with self.assertRaises(RelbertUnavailable):
            client.info()
        self.assertEqual(len(server.requests), 3)

    def test_error_status(self):
        _, client = self.serve(lambda n, h, f: [reply_frames(h, status=envelope_pb2.INVALID_ARGUMENT, message="bad pair")])
        with self.assertRaises(RelbertError) as caught:
            client.embed(PAIRS)
        self.assertEqual((caught.exception.status_name, caught.exception.message), ("INVALID_ARGUMENT", "bad pair"))

    def test_embeddings_tensor(self):
        values = [float(i) / 4 for i in range(6)]
        frame = struct.pack("<6f", *values)

        def handle(n, h, f):
            request = serving_pb2.EmbedRequest.FromString(f[1])
            self.assertEqual([(p.head, p.tail) for p in request.pairs], PAIRS)
            self.assertEqual((request.template, request.pooling), ("a", ""))
            shape = [2, 3] if n == 1 else [2, 4]  # the second reply's frame is too short
            spec = envelope_pb2.TensorSpec(name="embeddings", dtype=envelope_pb2.F32, shape=shape)
            return [reply_frames(h, serving_pb2.EmbedReply(tensors=[spec]), tensors=[frame])]
        _, client = self.serve(handle)
        vectors, _ = client.embed(PAIRS, template="a")
        self.assertEqual(vectors, [values[:3], values[3:]])
        with self.assertRaises(RelbertError) as caught:
            client.embed(PAIRS, template="a")
        self.assertIn("needs 32 bytes", caught.exception.message)


class UnreachableTests(unittest.TestCase):
    def test_timeout_where_nothing_listens(self):
        client = RelbertClient(f"tcp://127.0.0.1:{free_port()}", timeout=0.5, retries=2)
        self.addCleanup(client.close)
        start = time.monotonic()
        with self.assertRaises(RelbertUnavailable) as caught:
            client.info()
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 1.45)
        self.assertLess(elapsed, 2.5)  # (retries + 1) * timeout, and a little
        self.assertEqual(caught.exception.status_name, "UNAVAILABLE")
        self.assertIn("3 tries", str(caught.exception))


@unittest.skipUnless(os.access(RELBERT, os.X_OK), f"no relbert binary at {RELBERT}")
class CoordinatorTests(unittest.TestCase):
    """The envelope against the real coordinator (which serves jobs.*, not serve.*)."""

    @classmethod
    def setUpClass(cls):
        cls.state = tempfile.TemporaryDirectory()
        cls.endpoint = f"tcp://127.0.0.1:{free_port()}"
        cls.server = Server(["coordinator", "--bind", cls.endpoint, "--state-dir", cls.state.name])

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.state.cleanup()

    def client(self, **options):
        client = RelbertClient(self.endpoint, **{"timeout": 5, **options})
        self.addCleanup(client.close)
        return client

    def test_list_jobs(self):
        reply = self.client().call("jobs.List", jobs_pb2.ListRequest(), jobs_pb2.ListReply)
        self.assertTrue(reply.header.is_reply)
        self.assertEqual(reply.header.method, "jobs.List")
        self.assertEqual(list(reply.body.jobs), [])

    def test_unknown_method(self):
        with self.assertRaises(RelbertError) as caught:
            self.client().call("serve.NoSuchMethod", jobs_pb2.ListRequest())
        self.assertEqual(caught.exception.status_name, "UNIMPLEMENTED")

    def test_version_2(self):
        with self.assertRaises(RelbertError) as caught:
            self.client().call("jobs.List", jobs_pb2.ListRequest(), version=2)
        self.assertEqual(caught.exception.status_name, "FAILED_PRECONDITION")

    def test_not_found(self):
        with self.assertRaises(RelbertError) as caught:
            self.client().call("jobs.Status", jobs_pb2.StatusRequest(job_id="no-such-job"))
        self.assertEqual(caught.exception.status_name, "NOT_FOUND")

    def test_retries_while_the_server_is_stopped(self):
        client = self.client(timeout=1.0, retries=5)
        client.call("jobs.List", jobs_pb2.ListRequest())  # connected
        self.server.process.send_signal(signal.SIGSTOP)
        timer = threading.Timer(2.5, self.server.process.send_signal, [signal.SIGCONT])
        timer.start()
        self.addCleanup(timer.cancel)
        start = time.monotonic()
        reply = client.call("jobs.List", jobs_pb2.ListRequest(), jobs_pb2.ListReply)
        self.assertGreater(time.monotonic() - start, 2.0)
        self.assertEqual(reply.header.method, "jobs.List")


@unittest.skipUnless(os.access(RELBERT, os.X_OK), f"no relbert binary at {RELBERT}")
class CurveTests(unittest.TestCase):
    """CURVE against a coordinator that requires it: an authorized key gets through, no key does not."""

    def test_authorized_key(self):
        keys = tempfile.TemporaryDirectory()
        self.addCleanup(keys.cleanup)
        authorized = os.path.join(keys.name, "authorized")
        for name, folder in [("coordinator", keys.name), ("alice", authorized), ("mallory", keys.name)]:
            subprocess.run([RELBERT, "keys", "generate", name, "--dir", folder], check=True, capture_output=True)
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        server = Server(["coordinator", "--bind", endpoint, "--state-dir", os.path.join(keys.name, "state"),
                         "--key", os.path.join(keys.name, "coordinator.key"), "--authorized", authorized])
        self.addCleanup(server.stop)
        server_key = os.path.join(keys.name, "coordinator.pub")

        alice = RelbertClient(endpoint, timeout=5, retries=1,
                              curve=CurveKeys.from_files(os.path.join(authorized, "alice.key"), server_key))
        self.addCleanup(alice.close)
        self.assertEqual(alice.call("jobs.List", jobs_pb2.ListRequest()).header.method, "jobs.List")
        for curve in [None, CurveKeys.from_files(os.path.join(keys.name, "mallory.key"), server_key)]:
            with RelbertClient(endpoint, timeout=0.5, retries=0, curve=curve) as other:
                with self.assertRaises(RelbertUnavailable):
                    other.call("jobs.List", jobs_pb2.ListRequest())


def has_serve():
    if not os.access(RELBERT, os.X_OK):
        return False
    # Without the subcommand, `relbert serve --help` prints the top-level help and exits 0.
    run = subprocess.run([RELBERT, "serve", "--help"], capture_output=True, text=True)
    return run.returncode == 0 and "relbert serve" in run.stdout


@unittest.skipUnless(has_serve() or os.environ.get("RELBERT_REQUIRE_SERVE") == "1",
                     f"{RELBERT} has no `serve` subcommand")
class ServeTests(unittest.TestCase):
    """The serving methods against `relbert serve`."""

    @classmethod
    def setUpClass(cls):
        cls.endpoint = f"tcp://127.0.0.1:{free_port()}"
        cls.server = Server(["serve", "--model", MODEL, "--bind", cls.endpoint, "--workers", "1", "--index", "none"])
        try:
            cls.first_info = cls.wait_for_info(60)
        except BaseException:
            cls.server.stop()
            raise
        cls.client = RelbertClient(cls.endpoint, timeout=30, retries=1)

    @classmethod
    def wait_for_info(cls, seconds):
        until = time.monotonic() + seconds
        with RelbertClient(cls.endpoint, timeout=1, retries=0) as probe:
            while time.monotonic() < until:
                if cls.server.process.poll() is not None:
                    raise AssertionError(f"relbert serve exited with {cls.server.process.returncode}:\n{cls.server.output()}")
                try:
                    return probe.info()
                except RelbertUnavailable:
                    pass
        raise AssertionError(f"relbert serve did not answer serve.Info within {seconds} s:\n{cls.server.output()}")

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.stop()

    def test_embed_equals_the_command_line(self):
        vectors, reply = self.client.embed(PAIRS)
        text = "".join(f"{h}\t{t}\n" for h, t in PAIRS)
        run = subprocess.run([RELBERT, "embed", "--model", MODEL, "--format", "jsonl"], cwd=ROOT, input=text,
                             capture_output=True, text=True, check=True)
        expected = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
        self.assertEqual([(e["head"], e["tail"]) for e in expected], PAIRS)
        self.assertEqual(len(vectors), len(PAIRS))
        for got, want in zip(vectors, expected):
            self.assertEqual(len(got), len(want["embedding"]))
            self.assertLess(max(abs(a - b) for a, b in zip(got, want["embedding"])), 1e-5)
        self.assertEqual(reply.model.checksum, self.first_info.model.checksum)

    def test_analogy(self):
        candidates = [("rome", "italy"), ("puppy", "dog"), ("hot", "cold")]
        reply = self.client.analogy(("paris", "france"), candidates)
        self.assertEqual(len(reply.scores), len(candidates))
        self.assertEqual(reply.best, max(range(len(reply.scores)), key=lambda i: (reply.scores[i], -i)))

    def test_info(self):
        info = self.client.info()
        self.assertEqual(info.dimension, 384)
        self.assertRegex(info.model.checksum, r"^[0-9a-fA-F]{16}$")
        self.assertGreaterEqual(info.model.generation, 1)

    def test_health(self):
        health = self.client.health()
        self.assertLess(health.max_abs_difference, 1e-4)
        self.assertTrue(health.probe.head and health.probe.tail)

    def test_nearest_answers(self):
        # Without an index the server may answer with no neighbours or refuse; either way it answers.
        try:
            reply = self.client.nearest(("paris", "france"), k=3)
        except RelbertUnavailable:
            raise
        except RelbertError:
            pass  # a refusal is an answer
        else:
            self.assertLessEqual(len(reply.neighbours), 3)

    def test_empty_word(self):
        with self.assertRaises(RelbertError) as caught:
            self.client.embed([("", "france")])
        self.assertEqual(caught.exception.status_name, "INVALID_ARGUMENT")

    def test_unknown_pooling(self):
        with self.assertRaises(RelbertError) as caught:
            self.client.embed(PAIRS, pooling="no-such-pooling")
        self.assertEqual(caught.exception.status_name, "INVALID_ARGUMENT")

    def test_version_2(self):
        with self.assertRaises(RelbertError) as caught:
            self.client.call("serve.Info", serving_pb2.InfoRequest(), version=2)
        self.assertEqual(caught.exception.status_name, "FAILED_PRECONDITION")


if __name__ == "__main__":
    program = unittest.main(exit=False, verbosity=2)
    result = program.result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped - len(result.expectedFailures)
    print(f"python-client: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed or result.testsRun == 0 else 0)
