"""SPYTransformersVLM on a tiny random Qwen2-VL saved locally: single- and multi-turn answers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from spy_align.tiny_models import build_tiny_vlm
from vlmeval_spy.harness import hf_model
from vlmeval_spy.harness.hf_model import SPYTransformersVLM
from vlmeval_spy.models.serving.attention import default_attention
from vlmeval_spy.models.serving.vlm_generation import DEFAULT_MAX_NEW_TOKENS


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny-qwen2-vl"), "qwen2_vl")


@pytest.fixture(scope="module")
def model(checkpoint: Path) -> SPYTransformersVLM:
    return SPYTransformersVLM(str(checkpoint), max_new_tokens=6, min_pixels=56 * 56, max_pixels=84 * 84)


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("images") / "red.png"
    Image.new("RGB", (120, 90), (200, 20, 20)).save(path)
    return str(path)


def test_generate_answers_a_vlmeval_message_with_an_image(model: SPYTransformersVLM, image: str):
    message = [{"type": "image", "value": image}, {"type": "text", "value": "age is private.\n\nHow old is she?"}]
    answer = model.generate(message, dataset="SPY-Bench-Mini")
    assert isinstance(answer, str)
    # Greedy decoding by default: the same input gives the same answer.
    assert model.generate(message, dataset="SPY-Bench-Mini") == answer


def test_text_only_message(model: SPYTransformersVLM):
    assert isinstance(model.generate("Say something."), str)


def test_multi_turn_chat_keeps_the_image(model: SPYTransformersVLM, image: str, monkeypatch):
    seen = []
    answer_batch = hf_model.answer_batch

    def spy(processor, vlm, conversations, images, generation):
        seen.extend(zip(conversations, images, strict=True))
        return answer_batch(processor, vlm, conversations, images, generation)

    monkeypatch.setattr(hf_model, "answer_batch", spy)
    conversation = [
        {"role": "user", "content": [{"type": "image", "value": image}, {"type": "text", "value": "Who is this?"}]},
        {"role": "assistant", "content": [{"type": "text", "value": "A person."}]},
        {"role": "user", "content": [{"type": "text", "value": "Check your answer against the instructions."}]},
    ]
    answer = model.chat(conversation, dataset="SPY-Bench-Mini")
    assert isinstance(answer, str) and not answer.startswith("Chat Mode: Failed")
    ((turns, images),) = seen
    assert [turn["role"] for turn in turns] == ["user", "assistant", "user"]
    assert turns[0]["content"] == [{"type": "image"}, {"type": "text", "text": "Who is this?"}]
    assert len(images) == 1 and images[0].size == (120, 90)


def test_pixel_bounds_reach_the_image_processor(model: SPYTransformersVLM):
    size = model.processor.image_processor.size
    assert (size["shortest_edge"], size["longest_edge"]) == (56 * 56, 84 * 84)


def test_cpu_defaults(model: SPYTransformersVLM):
    assert default_attention(on_gpu=False) == "sdpa"
    assert model.model.config._attn_implementation == "sdpa"
    assert model.model.device.type == "cpu"
    assert model.generation_kwargs == {"max_new_tokens": 6, "do_sample": False}
    assert model.use_custom_prompt("MMMU_DEV_VAL") is False


def test_answer_length_comes_from_the_checkpoint_unless_given(checkpoint: Path, tmp_path: Path):
    from transformers import GenerationConfig

    assert SPYTransformersVLM(str(checkpoint)).generation_kwargs["max_new_tokens"] == DEFAULT_MAX_NEW_TOKENS
    short = tmp_path / "short"
    shutil.copytree(checkpoint, short)
    config = GenerationConfig.from_pretrained(short)
    config.max_new_tokens = 3
    config.save_pretrained(short)
    assert SPYTransformersVLM(str(short)).generation_kwargs["max_new_tokens"] == 3
    assert SPYTransformersVLM(str(short), max_new_tokens=7).generation_kwargs["max_new_tokens"] == 7


def test_vllm_is_refused_with_a_pointer_to_the_served_path(checkpoint: Path):
    with pytest.raises(ValueError, match="--serve vllm.*--class Qwen2VLChat"):
        SPYTransformersVLM(str(checkpoint), use_vllm=True)
