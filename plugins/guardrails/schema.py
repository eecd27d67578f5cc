"""Output schema validation: the text must be JSON that validates against a JSON Schema."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub import Guardrail, Verdict

from ._util import as_text, block_verdict, config_of

if TYPE_CHECKING:
    import jsonschema

FENCE_RE = re.compile(r"\A\s*```(?:json)?[ \t]*\n(.*)\n\s*```\s*\Z", re.DOTALL | re.IGNORECASE)
MAX_ERRORS = 5


class JsonSchemaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    json_schema: dict[str, Any] = Field(
        default_factory=dict, title="JSON Schema",
        description="The schema the output must satisfy (draft 2020-12 unless $schema says).",
        json_schema_extra={"format": "multiline"})
    allow_code_fence: bool = Field(True, title="Allow a code fence",
                                   description="Accept JSON wrapped in one ```json fence.")

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        import jsonschema  # on first use: an idle hub does not hold the library

        try:
            jsonschema.validators.validator_for(value).check_schema(value)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return value


@lru_cache(maxsize=128)
def _validator(schema_json: str) -> Any:
    import jsonschema

    schema = json.loads(schema_json)
    return jsonschema.validators.validator_for(schema)(schema)


def _where(error: jsonschema.ValidationError) -> str:
    return getattr(error, "json_path", "$")


def _describe(error: jsonschema.ValidationError) -> str:
    # The message of a jsonschema error quotes the offending value, which may be personal
    # data: report the location, the keyword and the schema's side only.
    expected = error.validator_value
    shown = json.dumps(expected, default=str) if not isinstance(expected, dict) else "{...}"
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"{_where(error)}: fails '{error.validator}' ({shown})"


class JsonSchemaOutput(Guardrail):
    """Blocks output that is not JSON or does not validate against the configured schema."""

    key = "json_schema"
    title = "Output schema"
    description = "The output must parse as JSON and validate against a JSON Schema."
    Config = JsonSchemaConfig
    stages = frozenset({"output"})

    async def check(self, text: str, *, config: object = None, stage: str = "output") -> Verdict:
        return validate_output(as_text(text), config_of(JsonSchemaConfig, config))


def validate_output(text: str, cfg: JsonSchemaConfig) -> Verdict:
    """The verdict of the output schema guardrail for ``text``."""
    if cfg.allow_code_fence:
        fenced = FENCE_RE.match(text)
        text = fenced.group(1) if fenced else text
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = f"line {exc.lineno} column {exc.colno}" if isinstance(
            exc, json.JSONDecodeError) else "nesting too deep"
        return block_verdict(["not_json"], [f"output is not JSON ({where})"])
    try:
        validator = _validator(json.dumps(cfg.json_schema, sort_keys=True))
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    except RecursionError:
        return block_verdict(["schema_invalid"], ["output nesting too deep to validate"])
    if not errors:
        return Verdict()
    reasons = [_describe(e) for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        reasons.append(f"... and {len(errors) - MAX_ERRORS} more")
    return block_verdict(["schema_invalid"], reasons)
