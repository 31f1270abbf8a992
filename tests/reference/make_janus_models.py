"""A tiny random Janus (transformers' JanusForConditionalGeneration) and what the reference computes.

Folders written:
  janus/            config.json (transformers format), model.safetensors (transformers names),
                    tokenizer.json, tokenizer_config.json, special_tokens_map.json written the way
                    DeepSeek writes them: a plain ByteLevel post-processor (no BOS) and
                    tokenizer_class LlamaTokenizerFast with add_bos_token, so the BOS every prompt
                    starts with comes from the processor, as in the official code (expected prompt
                    ids from transformers 4.38.2, processor_reference.py)
  janus_original/   the same weights under the original deepseek-ai names (MultiModalityCausalLM) in a
                    torch.save pytorch_model.bin, plus the stored-but-unused tensors of the real files
                    (SigLIP attn_pool, VQ codebook_used); the config stays in transformers format,
                    because the original format only describes the full-size SigLIP-L and VQ-16
  images/           synthetic test images (gradient, text, noise "photo", tall, tiny, RGBA, grayscale, JPEG)
  expected.safetensors + expected.json (reference outputs, see make())

The reference for generation is the original Janus loop (interleaved cond/uncond rows, CFG
u + w (c - u), argmax at temperature 0, image tokens fed back through gen_embed + gen_aligner), run
with the transformers modules; it is checked here against transformers' own generate(). Image
preprocessing follows the original VLMImageProcessor (PIL bicubic resize of the long side with int()
truncation, centred pad with 127, (x/255 - 0.5)/0.5); transformers' processor rounds the side instead.

Weights are drawn wider than the library default (normal std 0.15, norms 1 +- 0.1, biases std 0.1),
so greedy decisions are far from ties.
"""
import pathlib

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFilter
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import DynamicCache, JanusConfig, JanusForConditionalGeneration

import processor_reference
from fixture_util import seed_everything, write_json

BOS, EOS, PAD = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"
SPECIAL = [BOS, EOS, PAD, "<image_placeholder>", "<begin_of_image>", "<end_of_image>", "<|User|>", "<|Assistant|>"]
SYSTEM = ("You are a helpful language and vision assistant. You are able to understand the visual content that "
          "the user provides, and assist the user with a variety of tasks using natural language.")
TEXT_VOCAB = 400
GRID = 4  # 64 px / 16 px patches: 16 image tokens
CFG = 5.0
EDIT_CFG2 = 5.0  # Janus-4o's cfg_weight2 default

CORPUS = ["a red circle on a white background", "a small blue square in the top left corner",
          "Describe this image.", "What colour is the shape?", "a green star on a black background",
          SYSTEM] * 20


def make_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    # DeepSeek's own files: the post-processor adds nothing; LlamaTokenizerFast adds the BOS.
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def make_config(tok: Tokenizer, vq_levels: tuple = (1, 1, 2, 2, 4)) -> JanusConfig:
    return JanusConfig(
        text_config=dict(model_type="llama", vocab_size=TEXT_VOCAB, hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                         max_position_embeddings=512, rms_norm_eps=1e-6, tie_word_embeddings=False),
        vision_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, image_size=64, patch_size=16,
                           mlp_ratio=2.0, projection_dim=64, depth=2, num_image_tokens=GRID * GRID),
        # VQ-16's five levels (downsampling by 16), so that the VQ encoder reads the picture the
        # understanding encoder reads, as in the real checkpoints (Janus-4o's editing needs both).
        vq_config=dict(embed_dim=8, num_embeddings=64, latent_channels=32, base_channels=32,
                       channel_multiplier=list(vq_levels), num_res_blocks=1, projection_dim=64, num_hidden_layers=2,
                       image_token_embed_dim=64),
        image_token_id=tok.token_to_id("<image_placeholder>"), tie_word_embeddings=False,
        pad_token_id=tok.token_to_id(PAD), bos_token_id=tok.token_to_id(BOS), eos_token_id=tok.token_to_id(EOS))


def widen(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith(".weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.normal_(0, 0.1)
            else:
                p.normal_(0, 0.15)


# The original names, written independently of januskit's table (a second opinion on it).
def original_name(hf: str) -> str:
    import re
    rules = [
        (r"^model\.language_model\.", "language_model.model."),
        (r"^lm_head\.", "language_model.lm_head."),
        (r"^model\.vision_model\.embeddings\.patch_embedding\.", "vision_model.vision_tower.patch_embed.proj."),
        (r"^model\.vision_model\.embeddings\.position_embedding\.weight$", "vision_model.vision_tower.pos_embed"),
        (r"^model\.vision_model\.encoder\.layers\.(\d+)\.layer_norm(\d)\.", r"vision_model.vision_tower.blocks.\1.norm\2."),
        (r"^model\.vision_model\.encoder\.layers\.(\d+)\.self_attn\.projection_layer\.", r"vision_model.vision_tower.blocks.\1.attn.proj."),
        (r"^model\.vision_model\.encoder\.layers\.(\d+)\.mlp\.", r"vision_model.vision_tower.blocks.\1.mlp."),
        (r"^model\.vision_model\.post_layernorm\.", "vision_model.vision_tower.norm."),
        (r"^model\.aligner\.fc1\.", "aligner.layers.0."),
        (r"^model\.aligner\.hidden_layers\.0\.", "aligner.layers.2."),
        (r"^model\.generation_embeddings\.", "gen_embed."),
        (r"^model\.generation_aligner\.fc1\.", "gen_aligner.layers.0."),
        (r"^model\.generation_aligner\.hidden_layers\.0\.", "gen_aligner.layers.2."),
        (r"^model\.generation_head\.proj_out\.", "gen_head.output_mlp_projector."),
        (r"^model\.generation_head\.vision_head\.", "gen_head.vision_head."),
    ]
    for pattern, repl in rules:
        if re.search(pattern, hf):
            return re.sub(pattern, repl, hf)
    if hf.startswith("model.vqmodel."):
        s = hf[len("model.vqmodel."):]
        s = s.replace("decoder.up.", "decoder.conv_blocks.").replace("encoder.down.", "encoder.conv_blocks.")
        s = s.replace(".block.", ".res.").replace("mid.block_1.", "mid.0.").replace("mid.attn_1.", "mid.1.")
        s = s.replace("mid.block_2.", "mid.2.")
        return "gen_vision_model." + s
    raise KeyError(hf)


def original_state_dict(model) -> dict:
    sd = model.state_dict()
    out = {}
    for i in range(model.config.vision_config.num_hidden_layers):
        p = f"model.vision_model.encoder.layers.{i}.self_attn."
        for kind in ("weight", "bias"):
            out[f"vision_model.vision_tower.blocks.{i}.attn.qkv.{kind}"] = torch.cat(
                [sd.pop(p + f"{x}_proj.{kind}") for x in "qkv"], 0).clone()
    for name, t in sd.items():
        if name.endswith("position_embedding.weight"):
            t = t.unsqueeze(0)
        out[original_name(name)] = t.clone()
    # Stored by the real checkpoints, unused at inference.
    out["gen_vision_model.quantize.codebook_used"] = torch.zeros(256)
    out["vision_model.vision_tower.attn_pool.latent"] = torch.randn(1, 1, 32)
    out["vision_model.vision_tower.attn_pool.q.weight"] = torch.randn(32, 32)
    return out


# Original VLMImageProcessor semantics.
def preprocess(img: Image.Image, size: int = 64) -> np.ndarray:
    img = img.convert("RGB")
    w, h = img.size
    m = max(w, h)
    nh, nw = max(int(h / m * size), 14), max(int(w / m * size), 14)
    img = img.resize((nw, nh), Image.BICUBIC)
    if nw != nh:
        side = max(nw, nh)
        canvas = Image.new("RGB", (side, side), (127, 127, 127))
        canvas.paste(img, (0, (nw - nh) // 2) if nw > nh else ((nh - nw) // 2, 0))
        img = canvas
    return np.asarray(img)


def normalize(arr: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(arr.astype(np.float32)).permute(2, 0, 1) / 255.0
    return ((x - 0.5) / 0.5).unsqueeze(0)


def make_images(out: pathlib.Path) -> dict:
    out.mkdir()
    rng = np.random.default_rng(3)
    images = {}
    x = np.linspace(0, 255, 300)
    grad = np.stack([np.tile(x, (200, 1)), np.tile(x[::-1], (200, 1)), np.full((200, 300), 90.0)], -1)
    images["gradient.png"] = Image.fromarray(grad.astype(np.uint8))
    text = Image.new("RGB", (500, 120), (250, 250, 245))
    d = ImageDraw.Draw(text)
    for row in range(4):
        d.text((8, 6 + 28 * row), "januskit reads text: 0123456789 ABCDEFG", fill=(10, 10, 10))
    images["text.png"] = text
    photo = Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)).filter(ImageFilter.GaussianBlur(3))
    images["photo.png"] = photo
    images["photo.jpg"] = photo
    images["tall.png"] = Image.fromarray(rng.integers(0, 256, (500, 200, 3), dtype=np.uint8))
    images["tiny.png"] = Image.fromarray(rng.integers(0, 256, (7, 10, 3), dtype=np.uint8))
    rgba = np.concatenate([rng.integers(0, 256, (90, 120, 3)), rng.integers(0, 256, (90, 120, 1))], -1)
    images["alpha.png"] = Image.fromarray(rgba.astype(np.uint8), "RGBA")
    images["gray.png"] = Image.fromarray(rng.integers(0, 256, (77, 99), dtype=np.uint8), "L")
    expected = {}
    for name, img in images.items():
        path = out / name
        img.save(path, quality=90) if name.endswith(".jpg") else img.save(path)
        # The reference reads the file back, as a user's image would be.
        expected[name] = preprocess(Image.open(path), 384)
    return expected


def reference_image_generation(model, cond: list[int], pad: int, steps: int) -> list[int]:
    """The original Janus loop: interleaved rows, CFG, argmax, gen_embed + gen_aligner feedback."""
    tokens = torch.tensor([cond, cond])
    tokens[1, 1:-1] = pad
    return guided_argmax_loop(model, model.get_input_embeddings()(tokens), steps,
                              lambda logits: logits[1::2] + CFG * (logits[0::2] - logits[1::2]))


def guided_argmax_loop(model, embeds: torch.Tensor, steps: int, guide) -> list[int]:
    """One image's rows decoded together: `guide` mixes their image-token logits, the argmax is fed
    back to every row through gen_embed + gen_aligner."""
    past, out_tokens = None, []
    lm = model.model.language_model
    for _ in range(steps):
        out = lm(inputs_embeds=embeds, use_cache=True, past_key_values=past)
        past = out.past_key_values
        nxt = guide(model.model.generation_head(out.last_hidden_state[:, -1, :])).argmax(-1)
        out_tokens.append(int(nxt[0]))
        embeds = model.prepare_embeddings_for_image_generation(nxt.repeat(embeds.shape[0]).unsqueeze(-1))
    return out_tokens


def reference_image_edit(model, ids: list[int], pixels: torch.Tensor, tok: Tokenizer, steps: int) -> list[int]:
    """Janus-4o's README procedure (text-and-image-to-image), with the transformers modules: three rows
    (full, partial, uncond); the placeholders of the full and partial rows take the picture's
    understanding embeddings, the 576 (here 16) positions after the first <end_of_image> + 2 of the full
    row its generation embeddings (its VQ codes through gen_embed + gen_aligner); the uncond row is
    padded between BOS and the last token; cond = (full + w2 part) / (1 + w2), CFG, argmax."""
    tokens = torch.tensor([ids, ids, ids])
    tokens[2, 1:-1] = tok.token_to_id(PAD)
    embeds = model.get_input_embeddings()(tokens)
    seen = model.model.get_image_features(pixels).pooler_output[0]  # [N, D]
    drawn = model.prepare_embeddings_for_image_generation(model.model.vqmodel.encode(pixels).image_tokens.view(1, -1))[0]
    mask = tokens == tok.token_to_id("<image_placeholder>")
    mask[2] = False
    embeds[mask] = seen.repeat(2, 1)
    offset = ids.index(tok.token_to_id("<end_of_image>")) + 2
    embeds[0, offset:offset + drawn.shape[0]] = drawn

    def guide(logits):
        cond = (logits[0::3] + EDIT_CFG2 * logits[1::3]) / (1 + EDIT_CFG2)
        return logits[2::3] + CFG * (cond - logits[2::3])
    return guided_argmax_loop(model, embeds, steps, guide)


def write_folder(folder: pathlib.Path, model, tok: Tokenizer) -> None:
    """config.json + model.safetensors (transformers names) + the tokenizer files."""
    folder.mkdir(parents=True)
    model.save_pretrained(folder, safe_serialization=True)
    processor_reference.save_deepseek_layout(tok, folder / "tokenizer.json")
    write_json(folder / "tokenizer_config.json", {"add_bos_token": True, "add_eos_token": False, "bos_token": BOS,
                                                  "clean_up_tokenization_spaces": False, "eos_token": EOS,
                                                  "legacy": True, "model_max_length": 16384, "pad_token": PAD,
                                                  "tokenizer_class": "LlamaTokenizerFast", "unk_token": None})
    write_json(folder / "special_tokens_map.json", {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD,
                                                    "additional_special_tokens": SPECIAL[3:]})


def processor_ids(folder: pathlib.Path, tok: Tokenizer, texts: list[str]) -> list[list[int]]:
    """The official processor's ids for the folder's prompts; each starts with the BOS its files leave out."""
    ids = processor_reference.janus_ids(folder, texts)
    for text, row in zip(texts, ids):
        assert row[0] == tok.token_to_id(BOS) and tok.encode(text).ids[0] != row[0], (text, row)
    return ids


def understanding_prompt(folder: pathlib.Path, tok: Tokenizer, question: str) -> list[int]:
    """The SFT prompt with one image, its placeholder expanded to the image's tokens."""
    prompt = f"{SYSTEM}\n\n<|User|>: <image_placeholder>\n{question}\n\n<|Assistant|>:"
    ph = tok.token_to_id("<image_placeholder>")
    expanded = []
    for t in processor_ids(folder, tok, [prompt])[0]:
        expanded += ([tok.token_to_id("<begin_of_image>")] + [ph] * (GRID * GRID) +
                     [tok.token_to_id("<end_of_image>")]) if t == ph else [t]
    return expanded


def make(out_dir: pathlib.Path) -> None:
    seed_everything(2024)
    tok = make_tokenizer()
    config = make_config(tok)
    model = JanusForConditionalGeneration(config).eval()
    widen(model)

    folder = out_dir / "janus"
    write_folder(folder, model, tok)
    original = out_dir / "janus_original"
    original.mkdir()
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (original / f).write_bytes((folder / f).read_bytes())
    torch.save(original_state_dict(model), original / "pytorch_model.bin")

    pre = make_images(out_dir / "images")
    tensors = {f"pre/{k}": torch.from_numpy(v.copy()) for k, v in pre.items()}
    expected = {"cfg": CFG}

    with torch.no_grad():
        # Understanding: the SFT prompt with one image, its logits, and 20 greedy tokens.
        question = "Describe this image."
        expanded = understanding_prompt(folder, tok, question)
        pixels = normalize(preprocess(Image.open(out_dir / "images" / "gradient.png"), 64))
        input_ids = torch.tensor([expanded])
        logits = model(input_ids=input_ids, pixel_values=pixels).logits.float()
        tensors["understanding_logits"] = logits.contiguous()
        tensors["understanding_pixels"] = pixels.contiguous()
        gen = model.generate(input_ids=input_ids, pixel_values=pixels, max_new_tokens=20, min_new_tokens=20,
                             do_sample=False, eos_token_id=None, pad_token_id=tok.token_to_id(PAD))
        expected["understanding_prompt_ids"] = expanded
        expected["understanding_greedy"] = gen[0, input_ids.shape[1]:].tolist()
        expected["question"] = question

        # Generation: "<|User|>: {p}\n\n<|Assistant|>:<begin_of_image>" with BOS, CFG 5, argmax.
        gen_prompts = ["a red circle on a white background", "a small blue square"]
        expected["generation_prompts"] = gen_prompts
        expected["generation_tokens"] = []
        expected["generation_prompt_ids"] = processor_ids(
            folder, tok, [f"<|User|>: {p}\n\n<|Assistant|>:<begin_of_image>" for p in gen_prompts])
        for cond in expected["generation_prompt_ids"]:
            ref = reference_image_generation(model, cond, tok.token_to_id(PAD), GRID * GRID)
            gc = model.generation_config
            gc.pad_token_id, gc.bos_token_id = tok.token_to_id(PAD), tok.token_to_id(BOS)
            gc.generation_kwargs = {"boi_token_id": tok.token_to_id("<begin_of_image>")}
            gc.guidance_scale, gc.do_sample, gc.num_return_sequences = CFG, False, 1
            # transformers 5.17's static-cache set-up for image mode fails (a missing argument); a
            # dynamic cache takes the same path otherwise.
            hf = model.generate(input_ids=torch.tensor([cond]), attention_mask=torch.ones(1, len(cond), dtype=torch.long),
                                generation_mode="image", past_key_values=DynamicCache(config=model.config.text_config))
            assert hf[0].tolist() == ref, (hf[0].tolist(), ref)
            expected["generation_tokens"].append(ref)
        # Editing (Janus-4o): one picture, two instructions, each run alone as the README runs it.
        n = GRID * GRID
        blocks = ("<begin_of_image>" + "<image_placeholder>" * n + "<end_of_image>" +
                  "<begin_of_image>" + PAD * n + "<end_of_image>")
        edits = ["make the shape red", "a small blue square in the top left corner"]
        expected["edit_instructions"] = edits
        expected["edit_image"] = "photo.png"
        expected["edit_cfg2"] = EDIT_CFG2
        expected["edit_prompt_ids"] = processor_ids(
            folder, tok, [f"<|User|>: {blocks}{e}\n\n<|Assistant|>:<begin_of_image>" for e in edits])
        edit_pixels = normalize(preprocess(Image.open(out_dir / "images" / "photo.png"), 64))
        expected["edit_tokens"] = [reference_image_edit(model, ids, edit_pixels, tok, n)
                                   for ids in expected["edit_prompt_ids"]]
        # Without the picture's generation view the reference would draw something else: the test
        # compares against a reference that is sensitive to the part januskit could get wrong.
        assert expected["edit_tokens"][0] != expected["generation_tokens"][0]

        images = model.decode_image_tokens(torch.tensor(expected["generation_tokens"])).float()  # [B, H, W, 3]
        tensors["generation_pixels"] = np.clip((images.numpy() + 1) / 2 * 255, 0, 255).astype(np.uint8)
        tensors["generation_pixels"] = torch.from_numpy(tensors["generation_pixels"]).contiguous()

        # The VQ decoder on random codes, and the encoder + nearest normalised codebook entry.
        codes = torch.randint(0, 64, (2, GRID * GRID), generator=torch.Generator().manual_seed(5))
        tensors["vq_codes"] = codes
        tensors["vq_decoded"] = model.model.vqmodel.decode(codes).float().contiguous()
        vq_in = normalize(preprocess(Image.open(out_dir / "images" / "photo.png"), 64))
        z = model.model.vqmodel.quant_conv(model.model.vqmodel.encoder(vq_in))
        tensors["vq_input"] = vq_in.contiguous()
        tensors["vq_latent"] = z.contiguous()
        zf = F.normalize(z.permute(0, 2, 3, 1).reshape(-1, 8), dim=-1)
        book = F.normalize(model.model.vqmodel.quantize.embedding.weight, dim=-1)
        tensors["vq_ids"] = torch.cdist(zf, book).argmin(-1).view(1, -1)

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out_dir / "expected.safetensors"))
    write_json(out_dir / "expected.json", expected)
