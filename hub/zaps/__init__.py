"""Zaps: the document model, its validation and compilation, and file formats."""

from hub.zaps.compile import CompiledStep, CompiledZap, compile_zap
from hub.zaps.io import dump_document, parse_document
from hub.zaps.model import RetryPolicy, Step, Trigger, Zap, ZapSettings

__all__ = ["CompiledStep", "CompiledZap", "RetryPolicy", "Step", "Trigger", "Zap", "ZapSettings",
           "compile_zap", "dump_document", "parse_document"]
