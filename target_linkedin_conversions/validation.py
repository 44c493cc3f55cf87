"""Record validation against the stream's schema: compiled once, and silent about values.

The SDK's default validator aborts the run on the first bad record and prints the offending
value (often an email). Here a bad record becomes a reject naming only the field and the rule.
"""

from __future__ import annotations

import logging
import typing as t

import fastjsonschema
import jsonschema

from target_linkedin_conversions.errors import InvalidStreamSchemaError

LOGGER = logging.getLogger(__name__)


class SchemaViolationError(Exception):
    """A record does not match its stream's schema; the message names no value."""


def _no_remote_refs(uri: str) -> t.NoReturn:
    raise ValueError(f"remote $ref is not resolved: {uri}")


def _jsonschema_validator(schema: dict[str, t.Any]) -> jsonschema.Draft202012Validator:
    """jsonschema's validator for SCHEMA, or `InvalidStreamSchemaError` saying why not.

    Probing an empty record surfaces unresolvable `$ref`s now, not at the first record.
    """
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.FormatChecker(formats=()))
        for _ in validator.iter_errors({}):
            pass
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        msg = f"the stream's SCHEMA is not a valid JSON Schema at {where}: {exc.message[:200]}"
        raise InvalidStreamSchemaError(msg) from None
    except Exception as exc:
        msg = f"the stream's SCHEMA cannot be used ({type(exc).__name__}, e.g. a remote $ref)"
        raise InvalidStreamSchemaError(msg) from None
    return validator


def _unused(record: t.Any) -> None:
    """Placeholder check when jsonschema does the work."""


class RecordValidator:
    """Checks records against SCHEMA with fastjsonschema, or jsonschema when that cannot compile.

    Formats are not checked (as in the SDK's default): the mapping parses the fields it uses.
    """

    def __init__(self, schema: dict[str, t.Any]) -> None:
        # An invalid SCHEMA fails its stream now, rather than rejecting every record for it.
        fallback = _jsonschema_validator(schema)
        try:
            self._check = fastjsonschema.compile(
                schema, handlers={"http": _no_remote_refs, "https": _no_remote_refs},
                use_default=False, use_formats=False,
            )
            self._fallback = None
        except Exception:
            LOGGER.info("Validating with jsonschema: the stream schema does not compile with "
                        "fastjsonschema")
            self._check = _unused
            self._fallback = fallback

    def validate(self, record: dict[str, t.Any]) -> None:
        """Raise `SchemaViolationError` naming the field and the failed rule, never the value."""
        if self._fallback is None:
            try:
                self._check(record)
            except fastjsonschema.JsonSchemaValueException as exc:
                field = ".".join(str(p) for p in exc.path[1:]) or "(record)"
                raise SchemaViolationError(f"field '{field}' failed '{exc.rule}' check") from None
            except Exception as exc:  # a schema that compiled but cannot be applied
                msg = f"the stream's SCHEMA cannot be used ({type(exc).__name__})"
                raise InvalidStreamSchemaError(msg) from None
            return
        try:
            error = jsonschema.exceptions.best_match(self._fallback.iter_errors(record))
        except Exception as exc:
            msg = (f"the stream's SCHEMA cannot be used ({type(exc).__name__}: an unknown type "
                   "or an unresolvable $ref)")
            raise InvalidStreamSchemaError(msg) from None
        if error is not None:
            field = ".".join(str(p) for p in error.absolute_path) or "(record)"
            raise SchemaViolationError(f"field '{field}' failed '{error.validator}' check")
