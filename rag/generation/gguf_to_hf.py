"""Convert the embedded GGUF to a Hugging Face folder (bf16 safetensors) for vLLM, which serves
Hugging Face-format models. Run with the vLLM virtualenv's Python (it has transformers + gguf):

    .venv-vllm/bin/python -m rag.generation.gguf_to_hf GGUF OUT_DIR

Dequantises: transformers reads the GGUF's tensors and tokenizer, and saves them as safetensors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # transformers 5 keeps GGUF weights packed (not serialisable); dequantize=True unpacks them to dense.
    model: Any = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent),
        gguf_file=gguf.name,
        dtype=torch.bfloat16,
        quantization_config=GgufConfig(dequantize=True),
    )
    tmp = out.with_name(out.name + ".partial")
    if getattr(model, "hf_quantizer", None) is not None:  # saved as a plain model, not a GGUF-quantized one
        model.hf_quantizer = None
        model.config.__dict__.pop("quantization_config", None)
    model.save_pretrained(str(tmp), safe_serialization=True)
    tokenizer.save_pretrained(str(tmp))
    tmp.rename(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m rag.generation.gguf_to_hf GGUF OUT_DIR")
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
