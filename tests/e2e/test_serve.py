"""`januskit serve` as its users reach it: the real `openai` Python client (and raw HTTP for what a
client library never sends) against a server on a free loopback port, with the bundled demo models
and the scripted Qwen3 folder of tests/reference/make_chat_formats.py. What the server answers is
compared with what the CLI gives for the same seed (`ask --json`, `generate`, `describe`)."""
import base64
import http.client
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import openai
import pytest

JANUSKIT = os.environ["JANUSKIT_BIN"]
SOURCE = pathlib.Path(os.environ["JANUSKIT_SOURCE_DIR"])
R1 = str(SOURCE / "models" / "demo-r1")
JANUS = str(SOURCE / "models" / "demo-janus")
QWEN3 = str(pathlib.Path(os.environ["JANUSKIT_FIXTURES"]) / "chat_formats" / "qwen3")
QUESTIONS = [f"What is {a} + {b}?" for a, b in [(12, 30), (347, 586), (5, 9), (88, 17), (250, 250), (71, 3),
                                                 (640, 12), (19, 81), (4, 4), (123, 456), (99, 1), (35, 64),
                                                 (7, 700), (58, 29), (310, 95), (16, 16)]]


class Server:
    def __init__(self, *args, env=None):
        self.proc = subprocess.Popen([JANUSKIT, "serve", "--port", "0", *args], stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.log = []
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            m = re.search(r"listening on port (\d+)", line)
            if m:
                self.port = int(m.group(1))
                threading.Thread(target=self._drain, daemon=True).start()
                return
        self.proc.kill()
        raise AssertionError("server did not start:\n" + "".join(self.log))

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def client(self, key="none"):
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, timeout=120)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server("-m", R1, "-m", JANUS, "-m", QWEN3, "--max-batch", "16", "--image-dir",
               str(tmp_path_factory.mktemp("images")))
    yield s
    s.stop()
    assert s.proc.returncode == 0, "".join(s.log)


def run(*args):
    r = subprocess.run([JANUSKIT, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def ask_json(*args, model=R1):
    return json.loads(run("ask", *args, "-m", model, "--json"))


def post(server, path, body, headers=None, raw=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    data = raw if raw is not None else json.dumps(body).encode()
    conn.request("POST", path, body=data, headers=headers or {"Content-Type": "application/json"})
    r = conn.getresponse()
    payload = r.read()
    conn.close()
    return r.status, payload


def stream_chat(client, **kwargs):
    """The streamed reasoning, answer and finish reason per choice, and the order pieces came in."""
    reasoning, content, finish, order = {}, {}, {}, []
    usage = None
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        if chunk.usage is not None:
            usage = chunk.usage
        for c in chunk.choices:
            extra = c.delta.model_extra or {}
            if extra.get("reasoning_content"):
                assert extra["reasoning"] == extra["reasoning_content"]
                reasoning[c.index] = reasoning.get(c.index, "") + extra["reasoning_content"]
                order.append((c.index, "reasoning"))
            if c.delta.content:
                content[c.index] = content.get(c.index, "") + c.delta.content
                order.append((c.index, "content"))
            if c.finish_reason:
                finish[c.index] = c.finish_reason
    return reasoning, content, finish, order, usage


def test_models_and_health(server):
    models = {m.id: m for m in server.client().models.list().data}
    assert set(models) == {"demo-r1", "demo-janus", "qwen3"}
    assert models["demo-r1"].model_extra["januskit"]["chat_format"] == "r1"
    assert models["qwen3"].model_extra["januskit"]["chat_format"] == "qwen3"
    assert models["demo-janus"].model_extra["januskit"]["kind"] == "janus"
    health = json.load(urllib.request.urlopen(server.url + "/health"))
    assert health["status"] == "ok"


def test_chat_equals_ask_json_for_the_same_seed(server):
    want = ask_json("What is 347 + 586?", "--seed", "7", "--max-tokens", "300")
    got = server.client().chat.completions.create(model="demo-r1", seed=7, max_tokens=300,
                                                   messages=[{"role": "user", "content": "What is 347 + 586?"}])
    msg = got.choices[0].message
    assert msg.content == want["content"]
    assert msg.model_extra["reasoning_content"] == want["reasoning_content"] == msg.model_extra["reasoning"]
    assert got.usage.prompt_tokens == len(want["prompt_ids"])
    assert got.usage.completion_tokens == len(want["output_ids"])
    assert got.usage.completion_tokens_details.reasoning_tokens == want["usage"]["reasoning_tokens"]
    assert got.choices[0].finish_reason == "stop"


def test_stream_sends_reasoning_then_answer_as_ask_does(server):
    want = ask_json("What is 88 + 17?", "--seed", "3", "--max-tokens", "300")
    reasoning, content, finish, order, usage = stream_chat(
        server.client(), model="demo-r1", seed=3, max_tokens=300, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "What is 88 + 17?"}])
    assert reasoning[0] == want["reasoning_content"]
    assert content[0] == want["content"]
    kinds = [k for _, k in order]
    assert kinds == sorted(kinds, key=lambda k: k != "reasoning"), "reasoning must come before the answer"
    assert finish[0] == "stop"
    assert usage.completion_tokens == len(want["output_ids"])


def test_n_choices_are_ask_samples_and_vote(server):
    want = ask_json("What is 5 + 9?", "--seed", "11", "--samples", "4", "--max-tokens", "200", "--temperature", "1.2")
    got = server.client().chat.completions.create(
        model="demo-r1", seed=11, n=4, max_tokens=200, temperature=1.2, extra_body={"vote": True},
        messages=[{"role": "user", "content": "What is 5 + 9?"}])
    assert [c.message.content for c in got.choices] == [s["content"] for s in want["samples"]]
    assert got.model_extra["final_answer"] == want["final_answer"]
    assert got.model_extra["agreement"] == want["agreement"]


def test_thinking_budget_is_asks(server):
    want = ask_json("What is 640 + 12?", "--seed", "2", "--think-budget", "6", "--max-tokens", "200")
    got = server.client().chat.completions.create(
        model="demo-r1", seed=2, max_tokens=200, extra_body={"thinking_budget_tokens": 6},
        messages=[{"role": "user", "content": "What is 640 + 12?"}])
    assert got.choices[0].message.model_extra["reasoning_content"] == want["reasoning_content"]
    assert got.choices[0].message.content == want["content"]


def test_qwen3_thinking_off_is_ask_no_think(server):
    messages = [{"role": "user", "content": "Hello there"}]
    (pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "jk_serve_msgs.json").write_text(json.dumps(messages))
    want_on = ask_json("--messages", str(pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "jk_serve_msgs.json"),
                       "--seed", "4", "--max-tokens", "40", model=QWEN3)
    want_off = ask_json("--messages", str(pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "jk_serve_msgs.json"),
                        "--seed", "4", "--max-tokens", "40", "--no-think", model=QWEN3)
    client = server.client()
    on = client.chat.completions.create(model="qwen3", seed=4, max_tokens=40, messages=messages)
    off = client.chat.completions.create(model="qwen3", seed=4, max_tokens=40, messages=messages,
                                         extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert on.choices[0].message.content == want_on["content"]
    assert on.choices[0].message.model_extra.get("reasoning_content", "") == want_on["reasoning_content"]
    assert off.choices[0].message.content == want_off["content"]
    assert off.choices[0].message.model_extra.get("reasoning_content", "") == want_off["reasoning_content"] == ""


def test_logprobs(server):
    got = server.client().chat.completions.create(model="demo-r1", seed=1, max_tokens=20, logprobs=True,
                                                   top_logprobs=3, messages=[{"role": "user", "content": "What is 4 + 4?"}])
    entries = got.choices[0].logprobs.content
    assert len(entries) == got.usage.completion_tokens == 20
    for e in entries:
        assert e.logprob <= 0
        assert len(e.top_logprobs) == 3
        tops = [t.logprob for t in e.top_logprobs]
        assert tops == sorted(tops, reverse=True) and e.logprob <= tops[0] + 1e-6


def test_completion_is_ask_raw(server):
    want = ask_json("What is 19 + 81?", "--raw", "--seed", "9", "--max-tokens", "30")
    got = server.client().completions.create(model="demo-r1", prompt="What is 19 + 81?", seed=9, max_tokens=30)
    assert got.choices[0].text == want["content"]
    assert got.usage.completion_tokens == len(want["output_ids"])


def png_text(data):
    """tEXt chunks of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, i = {}, 8
    while i < len(data):
        n = int.from_bytes(data[i:i + 4], "big")
        kind = data[i + 4:i + 8]
        if kind == b"tEXt":
            key, _, value = data[i + 8:i + 8 + n].partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
        i += 12 + n
    return out


def test_images_are_what_generate_writes(server, tmp_path):
    got = server.client().images.generate(model="demo-janus", prompt="a red circle on a white background", n=2,
                                          extra_body={"seed": 5})
    assert [d.model_extra["seed"] for d in got.data] == [5, 6]
    run("generate", "a red circle on a white background", "-m", JANUS, "-n", "2", "--seed", "5", "-o",
        str(tmp_path / "img_%d.png"), "-q")
    for i, d in enumerate(got.data):
        served = base64.b64decode(d.b64_json)
        written = (tmp_path / f"img_{i + 1}.png").read_bytes()
        assert served == written, "same pixels and the same parameters chunk"
        assert "Seed: %d" % (5 + i) in png_text(served)["parameters"]


def test_image_url_and_size(server):
    client = server.client()
    got = client.images.generate(model="demo-janus", prompt="a blue square", response_format="url",
                                 extra_body={"seed": 1})
    data = urllib.request.urlopen(got.data[0].url).read()
    assert "a blue square" in png_text(data)["parameters"]
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(model="demo-janus", prompt="a blue square", size="1024x1024")
    assert e.value.body["param"] == "size"


def test_understanding_with_an_image_is_describe(server, tmp_path):
    picture = tmp_path / "in.png"
    run("generate", "a small green triangle on a black background", "-m", JANUS, "--seed", "3", "-o", str(picture), "-q")
    want = json.loads(run("describe", str(picture), "What is in the picture?", "-m", JANUS, "--json"))
    url = "data:image/png;base64," + base64.b64encode(picture.read_bytes()).decode()
    got = server.client().chat.completions.create(model="demo-janus", messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "What is in the picture?"}]}])
    assert got.choices[0].message.content == want["content"]


def test_sixteen_concurrent_streams_give_their_tokens_alone(server):
    client = server.client()
    alone = [stream_chat(client, model="demo-r1", seed=100 + i, max_tokens=120, temperature=1.0,
                         messages=[{"role": "user", "content": q}])[:2] for i, q in enumerate(QUESTIONS)]
    together = [None] * len(QUESTIONS)

    def one(i):
        together[i] = stream_chat(client, model="demo-r1", seed=100 + i, max_tokens=120, temperature=1.0,
                                  messages=[{"role": "user", "content": QUESTIONS[i]}])[:2]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(QUESTIONS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == alone


def test_bounded_load_from_eight_clients(server):
    client = server.client()
    errors, tokens = [], [0]
    lock = threading.Lock()

    def worker(k):
        for j in range(25):
            try:
                r = client.chat.completions.create(model="demo-r1", seed=k * 100 + j, max_tokens=48,
                                                   messages=[{"role": "user", "content": QUESTIONS[(k + j) % 16]}])
                with lock:
                    tokens[0] += r.usage.completion_tokens
            except Exception as e:  # noqa: BLE001 - every failure is reported
                errors.append(repr(e))

    start = time.time()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.time() - start
    print(f"200 requests from 8 clients: {seconds:.1f} s, {tokens[0] / seconds:.0f} generated tokens/s")
    assert errors == []


def test_client_that_disconnects_mid_stream_frees_its_row(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", "/v1/chat/completions", body=json.dumps({
        "model": "demo-r1", "stream": True, "max_tokens": 900, "temperature": 1.5, "stop": ["never-appears"],
        "messages": [{"role": "user", "content": "What is 1 + 1?"}]}), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.fp.readline()
    conn.close()
    deadline = time.time() + 30
    while time.time() < deadline:
        health = json.load(urllib.request.urlopen(server.url + "/health"))
        if all(m.get("running_rows", 0) == 0 for m in health["models"]):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"row still running: {health}")


@pytest.mark.parametrize("body,status,param", [
    ({"messages": []}, 400, "messages"),
    ({"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}, 400, "temperature"),
    ({"messages": [{"role": "user", "content": "hi"}], "n": 0}, 400, "n"),
    ({"messages": [{"role": "user", "content": "hi"}], "n": 17}, 400, "n"),
    ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": -3}, 400, "max_tokens"),
    ({"messages": [{"role": "user", "content": "hi"}], "top_logprobs": 3}, 400, "top_logprobs"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, 400, "messages"),
    ({"messages": [{"role": "user", "content": "hi"}], "model": "nope"}, 404, "model"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]},
     400, "messages[0].content"),
    ({"messages": [{"role": "user", "content": "hi " * 3000}]}, 400, "messages"),
    ({"messages": [{"role": "user", "content": "hi"}], "stream": True, "vote": True}, 400, "vote"),
])
def test_bad_chat_requests_are_openai_errors(server, body, status, param):
    body.setdefault("model", "demo-r1")
    got, payload = post(server, "/v1/chat/completions", body)
    assert got == status, payload
    error = json.loads(payload)["error"]
    assert error["param"] == param and error["message"] and error["type"]


def test_malformed_transport_is_a_4xx_and_the_server_lives_on(server):
    assert post(server, "/v1/chat/completions", None, raw=b'{"messages": [{"ro')[0] == 400
    assert post(server, "/v1/chat/completions", None, raw=b"x", headers={"Content-Type": "text/plain"})[0] == 415
    assert post(server, "/v1/chat/completions", None, raw=b"{" + b" " * (33 << 20) + b"}")[0] == 413
    assert post(server, "/v1/nowhere", {})[0] == 404
    # A slow client that never finishes its headers does not hold up the others.
    slow = socket.create_connection(("127.0.0.1", server.port))
    slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    got = server.client().chat.completions.create(model="demo-r1", max_tokens=5,
                                                   messages=[{"role": "user", "content": "hi"}])
    assert got.usage.completion_tokens == 5
    slow.close()
    assert json.load(urllib.request.urlopen(server.url + "/health"))["status"] == "ok"


def test_api_key():
    s = Server("-m", R1, "--api-key", "sekrit")
    try:
        with pytest.raises(openai.AuthenticationError):
            s.client("wrong").models.list()
        assert [m.id for m in s.client("sekrit").models.list().data] == ["demo-r1"]
        assert json.load(urllib.request.urlopen(s.url + "/health"))["status"] == "ok"
        # One text model: "model" may be left out.
        status, payload = post(s, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
                               headers={"Content-Type": "application/json", "Authorization": "Bearer sekrit"})
        assert status == 200, payload
    finally:
        s.stop()
    assert s.proc.returncode == 0


def test_sigterm_cancels_running_requests_and_exits_cleanly():
    s = Server("-m", R1, "--max-batch", "2")
    result = {}

    def long_request():
        try:
            result["r"] = s.client().chat.completions.create(model="demo-r1", max_tokens=1000, temperature=1.5,
                                                              stop=["never-appears"],
                                                              messages=[{"role": "user", "content": "hi"}])
        except Exception as e:  # noqa: BLE001
            result["e"] = e

    t = threading.Thread(target=long_request)
    t.start()
    time.sleep(0.5)
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=30) == 0, "".join(s.log)
    t.join(timeout=30)
    assert not t.is_alive()
    assert "stopping" in "".join(s.log)


def test_fuzz_against_the_openapi_description(server, tmp_path):
    """schemathesis generates valid and invalid bodies from docs/openapi.yaml: no 5xx, no crash."""
    r = subprocess.run([str(pathlib.Path(sys.executable).parent / "schemathesis"), "run",
                        str(SOURCE / "docs" / "openapi.yaml"), "--url", server.url, "--checks", "not_a_server_error",
                        "--max-examples", "25", "--phases", "examples,coverage,fuzzing", "--request-timeout", "60",
                        "--max-failures", "5", "--no-color"],
                       capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert server.proc.poll() is None
