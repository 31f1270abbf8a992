"""Checkpoint files for the io tests (issue 3): good files in every layout januskit reads, the
expected tensors as raw bytes, and a catalogue of broken inputs.

Layout of out_dir:
  roundtrip/state.pt, state_p4.pt   torch.save (zip) of STATE, pickle protocols 2 and 4
  roundtrip/state.safetensors       safetensors.torch.save_file of contiguous clones of STATE
  roundtrip/zip64_local.pt          state.pt re-zipped by Python's zipfile with force_zip64=True
  roundtrip/zip64_full.pt           state.pt re-zipped by hand with zip64 everywhere (central extra
                                    fields, zip64 end record + locator) and torch-style padded local headers
  roundtrip/expected.json           per tensor: dtype, shape, storage offset, stride, storage group, raw file
  roundtrip/expected/N.bin          the tensor's contiguous bytes (little-endian), written by numpy
  nested/*.pt + nested/expected.json  state dicts wrapped in or split over dicts
  bad/*                             broken inputs (legacy.pt: torch.save with _use_new_zipfile_serialization=False);
                                    bad/expected.json maps file -> substrings of the error
  models/*                          model folders (sharded safetensors, .bin, .bin shards, broken ones)

Pickles for the refused-global cases are written byte by byte and never unpickled.
Everything is seeded; nothing here is large (the whole fixture is under 1 MB).
"""
import collections
import json
import pathlib
import struct
import zipfile
import zlib

import numpy as np
import torch
from safetensors.torch import save_file

from fixture_util import seed_everything, write_json

# ---------------------------------------------------------------------------------------------
# The state dict every round trip uses.


def make_state():
    """Every dtype januskit reads, shared storages at several offsets, a transposed view, a 0-dim and
    an empty tensor, a Parameter, a tensor with a Python attribute, nested names, and the
    `_metadata` attribute that nn.Module.state_dict() attaches (a BUILD on the OrderedDict)."""
    seed_everything(1234)
    state = torch.nn.Linear(3, 2).state_dict()  # OrderedDict with _metadata: 'weight', 'bias'
    state["emb.weight"] = torch.randn(7, 5)
    state["layers.0.attn.q_proj.weight"] = torch.nn.Parameter(torch.randn(4, 6).bfloat16(), requires_grad=False)
    state["layers.0.norm.weight"] = torch.randn(6).half()
    state["a.b.c.d.weight"] = torch.randn(2, 2, 2)
    state["ids"] = torch.arange(5, dtype=torch.int64) * 1000003
    base = torch.randn(20)
    state["shared.a"] = base[0:8]
    state["shared.b"] = base[5:15]
    state["shared.c"] = base[10:20].view(2, 5)
    state["transposed"] = torch.randn(3, 4).t()
    state["scalar"] = torch.tensor(3.25)
    state["empty"] = torch.empty(0, 3)
    state["flags"] = torch.tensor([True, False, True])
    state["f64"] = torch.randn(3, dtype=torch.float64)
    state["i32"] = torch.tensor([-7, 0, 2**31 - 1], dtype=torch.int32)
    state["i16"] = torch.tensor([-300, 12], dtype=torch.int16)
    state["i8"] = torch.tensor([-128, 5, 127], dtype=torch.int8)
    state["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    # float8 and uint16 are saved through _rebuild_tensor_v3 with an UntypedStorage and a dtype global.
    state["f8.e4m3"] = torch.randn(6).to(torch.float8_e4m3fn)
    state["f8.e5m2"] = torch.randn(6).to(torch.float8_e5m2)
    state["u16"] = torch.tensor([1, 60000], dtype=torch.uint16)
    with_attr = torch.randn(3)
    with_attr.note = "a python attribute makes torch pickle this via _rebuild_from_type_v2"
    state["with_attr"] = with_attr
    return state


def raw_bytes(t: torch.Tensor) -> bytes:
    """Contiguous little-endian bytes of a tensor, through numpy (independent of januskit)."""
    c = t.detach().contiguous()
    if c.dtype in (torch.bfloat16, torch.float8_e4m3fn, torch.float8_e5m2):
        c = c.view(torch.int16 if c.dtype == torch.bfloat16 else torch.uint8)
    elif c.dtype == torch.uint16:
        c = c.view(torch.int16)
    return c.numpy().tobytes()


DTYPE_NAMES = {
    torch.float64: "f64", torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
    torch.float8_e4m3fn: "f8_e4m3", torch.float8_e5m2: "f8_e5m2", torch.int64: "i64", torch.int32: "i32",
    torch.int16: "i16", torch.int8: "i8", torch.uint16: "u16", torch.uint8: "u8", torch.bool: "bool",
}


def write_expected(out: pathlib.Path, state) -> None:
    (out / "expected").mkdir()
    groups = {}
    entries = {}
    for i, (name, t) in enumerate(state.items()):
        ptr = t.untyped_storage().data_ptr()
        groups.setdefault(ptr, len(groups))
        (out / "expected" / f"{i}.bin").write_bytes(raw_bytes(t))
        entries[name] = {
            "file": f"expected/{i}.bin",
            "dtype": DTYPE_NAMES[t.dtype],
            "shape": list(t.shape),
            "storage_offset": t.storage_offset(),
            "stride": list(t.stride()),
            "storage_group": groups[ptr],
        }
    write_json(out / "expected.json", entries)


# ---------------------------------------------------------------------------------------------
# Zip helpers.


def zip_entries(path: pathlib.Path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def rezip_python_zip64(src: pathlib.Path, dst: pathlib.Path) -> None:
    """Python's zipfile with force_zip64=True: zip64 extra fields in the local headers only, so the
    local extra field differs from the central one (as in torch's own files, for another reason)."""
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as z:
        for name, data in zip_entries(src):
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 28, 0, 0, 0))
            with z.open(info, "w", force_zip64=True) as f:
                f.write(data)


def write_zip64_by_hand(entries, dst: pathlib.Path, align: int = 64) -> None:
    """A zip archive with zip64 in every place a >4 GB torch checkpoint has it: local headers with
    zip64 sizes plus torch's "FB" padding field aligning data to `align`, central headers whose
    sizes and offset are all saturated (0xFFFFFFFF) with the real values in the zip64 extra field,
    and the zip64 end-of-central-directory record + locator behind a saturated classic end record."""
    out = bytearray()
    central = bytearray()
    for name, data in entries:
        name_b = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(out)
        zip64_local = struct.pack("<HHQQ", 0x0001, 16, len(data), len(data))
        data_start = offset + 30 + len(name_b) + len(zip64_local) + 4
        pad = (-data_start) % align
        extra = zip64_local + struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(name_b), len(extra))
        out += name_b + extra + data
        zip64_central = struct.pack("<HHQQQ", 0x0001, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(name_b), len(zip64_central), 0, 0, 0, 0, 0xFFFFFFFF)
        central += name_b + zip64_central
    cd_offset = len(out)
    out += central
    eocd64_offset = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, eocd64_offset, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    dst.write_bytes(bytes(out))


def write_stored_zip(entries, dst: pathlib.Path, compression=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(dst, "w", compression) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 28, 0, 0, 0)), data, compress_type=compression)


# ---------------------------------------------------------------------------------------------
# Hand-written pickles (never unpickled here).


class PickleWriter:
    """Emits protocol-2 opcodes; just enough to build state-dict-shaped pickles with chosen flaws."""

    def __init__(self):
        self.b = bytearray(b"\x80\x02")

    def op(self, raw: bytes):
        self.b += raw
        return self

    def global_(self, module: str, name: str):
        return self.op(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def string(self, s: str):
        e = s.encode()
        return self.op(b"X" + struct.pack("<I", len(e)) + e)

    def int_(self, v: int):
        return self.op(b"J" + struct.pack("<i", v))

    def tuple_of_ints(self, values):
        self.op(b"(")
        for v in values:
            self.int_(v)
        return self.op(b"t")

    def tensor(self, key: str, storage: str, numel: int, offset: int, size, stride):
        """_rebuild_tensor_v2(('storage', storage, key, 'cpu', numel), offset, size, stride, False, OrderedDict())"""
        self.global_("torch._utils", "_rebuild_tensor_v2").op(b"(")
        self.op(b"(").string("storage").global_("torch", storage).string(key).string("cpu").int_(numel).op(b"tQ")
        self.int_(offset).tuple_of_ints(size).tuple_of_ints(stride).op(b"\x89")
        self.global_("collections", "OrderedDict").op(b")R")
        return self.op(b"tR")

    def state_dict(self, items):
        """items: list of (name, emit) where emit(self) pushes the value."""
        self.global_("collections", "OrderedDict").op(b")R(")
        for name, emit in items:
            self.string(name)
            emit(self)
        return self.op(b"u.")

    def bytes(self) -> bytes:
        return bytes(self.b)


def torch_archive(pickle_bytes: bytes, storages: dict, top: str = "archive"):
    entries = [(f"{top}/data.pkl", pickle_bytes), (f"{top}/byteorder", b"little")]
    entries += [(f"{top}/data/{k}", v) for k, v in storages.items()]
    entries.append((f"{top}/version", b"3\n"))
    return entries


# ---------------------------------------------------------------------------------------------
# safetensors written by hand (for broken headers).


def safetensors_bytes(header, data: bytes, pad: bool = True, length_override=None) -> bytes:
    text = header if isinstance(header, (bytes, bytearray)) else json.dumps(header).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    n = len(text) if length_override is None else length_override
    return struct.pack("<Q", n) + text + data


def f32(n):
    return {"dtype": "F32", "shape": [n]}


# ---------------------------------------------------------------------------------------------


def make_roundtrip(out: pathlib.Path) -> None:
    out.mkdir()
    state = make_state()
    torch.save(state, out / "state.pt")
    torch.save(state, out / "state_p4.pt", pickle_protocol=4)
    save_file({k: v.detach().contiguous().clone() for k, v in state.items()}, str(out / "state.safetensors"),
              metadata={"format": "pt", "source": "januskit fixture"})
    rezip_python_zip64(out / "state.pt", out / "zip64_local.pt")
    write_zip64_by_hand(zip_entries(out / "state.pt"), out / "zip64_full.pt")
    write_expected(out, state)
    # Sanity: torch itself reads the hand-made archives back (proves the fixture, not januskit).
    for name in ("zip64_local.pt", "zip64_full.pt"):
        back = torch.load(out / name, weights_only=True)
        assert all(torch.equal(back[k].float(), state[k].float()) for k in state if state[k].dtype != torch.bool)


def make_nested(out: pathlib.Path) -> None:
    out.mkdir()
    seed_everything(99)
    inner = collections.OrderedDict(w=torch.randn(2, 3), b=torch.randn(3))
    torch.save({"state_dict": inner, "epoch": 3, "optimizer_name": "adam"}, out / "wrapped.pt")
    torch.save({"model": {"module": inner}, "step": 7}, out / "double_wrapped.pt")
    two = {"encoder": {"w": torch.randn(2)}, "decoder": {"w": torch.randn(3), "inner": {"b": torch.randn(1)}}, "step": 5,
           "top": torch.randn(4)}
    torch.save(two, out / "two_level.pt")
    torch.save({0: torch.randn(2), "x": {1: torch.randn(1)}}, out / "int_keys.pt")
    write_json(out / "expected.json", {
        "wrapped.pt": {"names": ["b", "w"], "values": {"w": inner["w"].flatten().tolist(), "b": inner["b"].tolist()}},
        "double_wrapped.pt": {"names": ["b", "w"], "values": {"w": inner["w"].flatten().tolist(), "b": inner["b"].tolist()}},
        "two_level.pt": {"names": ["decoder.inner.b", "decoder.w", "encoder.w", "top"],
                         "values": {"decoder.inner.b": two["decoder"]["inner"]["b"].tolist(), "top": two["top"].tolist()}},
        "int_keys.pt": {"names": ["0", "x.1"], "values": {}},
    })


def make_bad(out: pathlib.Path, roundtrip: pathlib.Path) -> None:
    out.mkdir()
    expected = {}  # file -> substrings the error must contain (besides the file name)

    def bad(name: str, data: bytes, *needles: str):
        (out / name).write_bytes(data)
        expected[name] = list(needles)

    good = (roundtrip / "state.safetensors").read_bytes()
    d16 = bytes(range(16))
    # --- safetensors ---
    bad("empty.safetensors", b"", "file is empty")
    bad("tiny.safetensors", b"\x01\x02\x03", "too short")
    bad("truncated.safetensors", good[:-10], "run past the end of the data area", "truncated")
    bad("truncated_header.safetensors", good[:40], "runs past the end of the file")
    bad("header_too_long.safetensors", safetensors_bytes({"a": {**f32(4), "data_offsets": [0, 16]}}, d16, length_override=10_000),
        "header length 10000 runs past the end of the file")
    bad("header_huge.safetensors", struct.pack("<Q", 2**63 + 5) + b"{}" + b" " * 6, "over the 100000000-byte limit")
    bad("overlap.safetensors", safetensors_bytes({"a": {**f32(4), "data_offsets": [0, 16]}, "b": {**f32(4), "data_offsets": [8, 24]}},
                                                 bytes(24)), "overlap", "'a'", "'b'")
    bad("out_of_range.safetensors", safetensors_bytes({"a": {**f32(4), "data_offsets": [8, 24]}}, bytes(16)),
        "tensor 'a'", "run past the end of the data area")
    bad("gap.safetensors", safetensors_bytes({"a": {**f32(1), "data_offsets": [0, 4]}, "b": {**f32(1), "data_offsets": [8, 12]}},
                                             bytes(12)), "belong to no tensor")
    bad("trailing.safetensors", safetensors_bytes({"a": {**f32(1), "data_offsets": [0, 4]}}, bytes(12)), "trailing bytes")
    bad("unknown_dtype.safetensors", safetensors_bytes({"a": {"dtype": "F7", "shape": [4], "data_offsets": [0, 16]}}, d16),
        "tensor 'a'", "unknown dtype 'F7'")
    bad("size_mismatch.safetensors", safetensors_bytes({"a": {**f32(3), "data_offsets": [0, 16]}}, d16),
        "tensor 'a'", "needs 12 bytes", "hold 16")
    bad("invalid_json.safetensors", safetensors_bytes(b'{"a": {"dtype": "F32",', d16), "not valid JSON")
    bad("not_object.safetensors", safetensors_bytes(b"[1, 2, 3]", b""), "does not start with '{'")
    bad("negative_shape.safetensors", safetensors_bytes({"a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, d16),
        "non-negative integers")
    bad("duplicate.safetensors", safetensors_bytes(b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                                                   b'"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', bytes(4)),
        "names tensor 'a' twice")
    bad("bad_metadata.safetensors", safetensors_bytes({"__metadata__": {"k": 1}}, b""), "__metadata__", "expected a string")
    bad("overflow.safetensors", safetensors_bytes({"a": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 16]}}, d16),
        "overflows")

    # --- torch zip ---
    state_pt = roundtrip / "state.pt"
    entries = zip_entries(state_pt)
    bad("empty.bin", b"", "file is empty")
    bad("not_a_zip.bin", np.random.default_rng(5).bytes(300), "not a PyTorch checkpoint")
    whole = state_pt.read_bytes()
    bad("truncated.pt", whole[: len(whole) // 2], "not a zip archive")
    p = out / "deflate.pt"
    write_stored_zip(entries, p, zipfile.ZIP_DEFLATED)
    expected["deflate.pt"] = ["is compressed", "deflate"]
    missing = [(n, d) for n, d in entries if not n.endswith("/data/3")]
    write_stored_zip(missing, out / "missing_storage.pt")
    expected["missing_storage.pt"] = ["data/3", "missing from the archive"]
    os_system = PickleWriter().global_("os", "system").string("echo pwned").op(b"\x85R.").bytes()
    write_stored_zip(torch_archive(os_system, {}), out / "os_system.pt")
    expected["os_system.pt"] = ["refusing to load", "os.system"]
    # Protocol 4 style: STACK_GLOBAL with the name on the stack.
    eval_pickle = (b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x0bprint('hi')\x94\x85\x94R\x94.")
    write_stored_zip(torch_archive(eval_pickle, {}), out / "builtins_eval.pt")
    expected["builtins_eval.pt"] = ["refusing to load", "builtins.eval"]
    # A global hidden inside an otherwise valid state dict, after real tensors.
    sneaky = PickleWriter().state_dict([
        ("w", lambda w: w.tensor("0", "FloatStorage", 4, 0, [4], [1])),
        ("x", lambda w: w.global_("subprocess", "Popen").op(b")R")),
    ]).bytes()
    write_stored_zip(torch_archive(sneaky, {"0": bytes(16)}), out / "sneaky_global.pt")
    expected["sneaky_global.pt"] = ["refusing to load", "subprocess.Popen"]
    beyond = PickleWriter().state_dict([("w", lambda w: w.tensor("0", "FloatStorage", 4, 2, [2, 2], [2, 1]))]).bytes()
    write_stored_zip(torch_archive(beyond, {"0": bytes(16)}), out / "beyond_storage.pt")
    expected["beyond_storage.pt"] = ["reaches byte 24", "holds 16"]
    small = PickleWriter().state_dict([("w", lambda w: w.tensor("0", "FloatStorage", 8, 0, [8], [1]))]).bytes()
    write_stored_zip(torch_archive(small, {"0": bytes(16)}), out / "storage_too_small.pt")
    expected["storage_too_small.pt"] = ["data/0 holds 16 bytes", "needs 32"]
    bad_op = PickleWriter().global_("collections", "OrderedDict").op(b")R").op(b"\x81.").bytes()  # NEWOBJ
    write_stored_zip(torch_archive(bad_op, {}), out / "unsupported_opcode.pt")
    expected["unsupported_opcode.pt"] = ["unsupported pickle opcode", "NEWOBJ"]
    no_stop = PickleWriter().global_("collections", "OrderedDict").op(b")R").bytes()
    write_stored_zip(torch_archive(no_stop, {}), out / "no_stop.pt")
    expected["no_stop.pt"] = ["without STOP"]
    torch.save(torch.randn(3), out / "not_a_dict.pt")
    expected["not_a_dict.pt"] = ["holds a tensor, not a dict"]
    write_stored_zip([("weights/readme.txt", b"hello")], out / "no_data_pkl.pt")
    expected["no_data_pkl.pt"] = ["without a <folder>/data.pkl"]
    # A flipped byte inside data.pkl (in a tensor name): the CRC check catches it.
    with zipfile.ZipFile(state_pt) as z:
        info = next(i for i in z.infolist() if i.filename.endswith("data.pkl"))
    raw = bytearray(whole)
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    pos = raw.index(b"emb.weight", start)
    raw[pos] = ord("E")
    bad("bad_crc.pt", bytes(raw), "data.pkl fails its CRC check")
    torch.save({"w": torch.randn(2)}, out / "legacy.pt", _use_new_zipfile_serialization=False)
    expected["legacy.pt"] = ["legacy torch.save format", "torch 1.6"]
    write_json(out / "expected.json", expected)


def r1_like_state(seed: int):
    """Names and layout of an R1 distill (Qwen2) with two layers; bf16."""
    seed_everything(seed)
    h, inter, vocab = 8, 16, 32
    s = collections.OrderedDict()
    s["model.embed_tokens.weight"] = torch.randn(vocab, h)
    for i in range(2):
        p = f"model.layers.{i}."
        s[p + "input_layernorm.weight"] = torch.randn(h)
        for proj, rows in (("q_proj", h), ("k_proj", 4), ("v_proj", 4)):
            s[p + f"self_attn.{proj}.weight"] = torch.randn(rows, h)
            s[p + f"self_attn.{proj}.bias"] = torch.randn(rows)
        s[p + "self_attn.o_proj.weight"] = torch.randn(h, h)
        s[p + "post_attention_layernorm.weight"] = torch.randn(h)
        s[p + "mlp.gate_proj.weight"] = torch.randn(inter, h)
        s[p + "mlp.up_proj.weight"] = torch.randn(inter, h)
        s[p + "mlp.down_proj.weight"] = torch.randn(h, inter)
    s["model.norm.weight"] = torch.randn(h)
    s["lm_head.weight"] = torch.randn(vocab, h)
    return collections.OrderedDict((k, v.bfloat16()) for k, v in s.items())


def janus_like_state(seed: int):
    """A few tensors under each Janus-Pro component name; bf16, plus the int codebook_used buffer."""
    seed_everything(seed)
    s = collections.OrderedDict()
    s["language_model.model.embed_tokens.weight"] = torch.randn(32, 8)
    s["language_model.model.layers.0.self_attn.q_proj.weight"] = torch.randn(8, 8)
    s["language_model.model.norm.weight"] = torch.randn(8)
    s["language_model.lm_head.weight"] = torch.randn(32, 8)
    s["vision_model.vision_tower.patch_embed.proj.weight"] = torch.randn(8, 3, 2, 2)
    s["vision_model.vision_tower.attn_pool.latent"] = torch.randn(1, 1, 8)
    s["aligner.layers.0.weight"] = torch.randn(8, 8)
    s["gen_vision_model.quantize.embedding.weight"] = torch.randn(16, 4)
    s["gen_embed.weight"] = torch.randn(16, 4)
    s["gen_head.vision_head.weight"] = torch.randn(16, 8)
    s = collections.OrderedDict((k, v.bfloat16()) for k, v in s.items())
    s["gen_vision_model.quantize.codebook_used"] = torch.zeros(16, dtype=torch.int64)
    return s


def write_model_files(d: pathlib.Path, config: dict) -> None:
    d.mkdir(parents=True)
    write_json(d / "config.json", config)
    write_json(d / "tokenizer.json", {"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})
    write_json(d / "tokenizer_config.json", {"bos_token": "<s>"})
    write_json(d / "generation_config.json", {"temperature": 0.6})
    (d / "README.md").write_text("tiny fixture model\n")


def save_sharded_safetensors(state, d: pathlib.Path, groups) -> None:
    """Six-digit shard names as the R1 distills use (-of-000003)."""
    names = list(state)
    total = len(groups)
    weight_map, size = {}, 0
    for i, (lo, hi) in enumerate(groups):
        shard = f"model-{i + 1:05d}-of-{total:06d}.safetensors"
        part = {n: state[n] for n in names[lo:hi]}
        save_file(part, str(d / shard), metadata={"format": "pt"})
        for n, t in part.items():
            weight_map[n] = shard
            size += t.numel() * t.element_size()
    write_json(d / "model.safetensors.index.json", {"metadata": {"total_size": size}, "weight_map": weight_map})


def save_sharded_bin(state, d: pathlib.Path, groups) -> None:
    names = list(state)
    weight_map, size = {}, 0
    for i, (lo, hi) in enumerate(groups):
        shard = f"pytorch_model-{i + 1:05d}-of-{len(groups):05d}.bin"
        part = collections.OrderedDict((n, state[n]) for n in names[lo:hi])
        torch.save(part, d / shard)
        for n, t in part.items():
            weight_map[n] = shard
            size += t.numel() * t.element_size()
    write_json(d / "pytorch_model.bin.index.json", {"metadata": {"total_size": size}, "weight_map": weight_map})


def make_models(out: pathlib.Path) -> None:
    r1_config = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 8, "num_hidden_layers": 2}
    janus_config = {"architectures": ["MultiModalityCausalLM"], "model_type": "multi_modality"}
    r1 = r1_like_state(7)
    n = len(r1)

    write_model_files(out / "st_sharded", r1_config)
    save_sharded_safetensors(r1, out / "st_sharded", [(0, 9), (9, 20), (20, n)])

    janus = janus_like_state(8)
    write_model_files(out / "bin_single", janus_config)
    torch.save(janus, out / "bin_single" / "pytorch_model.bin")

    write_model_files(out / "bin_sharded", r1_config)
    save_sharded_bin(r1, out / "bin_sharded", [(0, 12), (12, n)])

    # Both formats in one folder: safetensors wins.
    write_model_files(out / "both_formats", r1_config)
    save_file(dict(r1), str(out / "both_formats" / "model.safetensors"))
    torch.save(janus, out / "both_formats" / "pytorch_model.bin")

    write_model_files(out / "missing_shard", r1_config)
    save_sharded_safetensors(r1, out / "missing_shard", [(0, 10), (10, n)])
    (out / "missing_shard" / "model-00002-of-000002.safetensors").unlink()

    write_model_files(out / "no_weights", r1_config)

    (out / "no_config").mkdir()
    save_file(dict(r1), str(out / "no_config" / "model.safetensors"))

    write_model_files(out / "bad_config", r1_config)
    (out / "bad_config" / "config.json").write_text('{"architectures": ["Qwen2ForCausalLM"],, }')
    save_file(dict(r1), str(out / "bad_config" / "model.safetensors"))

    write_model_files(out / "index_mismatch", r1_config)
    save_sharded_safetensors(r1, out / "index_mismatch", [(0, 10), (10, n)])
    index = json.loads((out / "index_mismatch" / "model.safetensors.index.json").read_text())
    index["weight_map"]["model.layers.9.mlp.up_proj.weight"] = "model-00001-of-000002.safetensors"
    write_json(out / "index_mismatch" / "model.safetensors.index.json", index)

    write_model_files(out / "two_safetensors", r1_config)
    names = list(r1)
    save_file({k: r1[k] for k in names[:5]}, str(out / "two_safetensors" / "a.safetensors"))
    save_file({k: r1[k] for k in names[5:]}, str(out / "two_safetensors" / "b.safetensors"))

    write_model_files(out / "duplicate_tensor", r1_config)
    save_sharded_safetensors(r1, out / "duplicate_tensor", [(0, 10), (10, n)])
    save_file({k: r1[k] for k in names[8:n]}, str(out / "duplicate_tensor" / "model-00001-of-000002.safetensors"))

    write_model_files(out / "bad_shard", r1_config)
    save_sharded_safetensors(r1, out / "bad_shard", [(0, 10), (10, n)])
    shard = out / "bad_shard" / "model-00002-of-000002.safetensors"
    shard.write_bytes(shard.read_bytes()[:-7])

    write_model_files(out / "evil_index", r1_config)
    write_json(out / "evil_index" / "model.safetensors.index.json",
               {"metadata": {"total_size": 4}, "weight_map": {"x": "../../etc/passwd"}})


def make(out_dir: pathlib.Path) -> None:
    make_roundtrip(out_dir / "roundtrip")
    make_nested(out_dir / "nested")
    make_bad(out_dir / "bad", out_dir / "roundtrip")
    make_models(out_dir / "models")
