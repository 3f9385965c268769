"""Partner API inputs taken exactly as the OpenAPI states them: no silent coercion, no blank value skipped.

DRF is lenient where our schema is exact: a CharField takes a JSON number, a BooleanField takes "yes", and an
empty query parameter (`?created_after=`) is skipped as if absent. A client generated from the schema never
sends those, and a request that breaks the schema must be refused (schemathesis checks both ways), so these
mixins refuse them with the usual 400 `invalid_input`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

# An https URL to a named public host: a host name with a dot whose last label starts with a letter (no IP
# literal, no user:password@), an optional port, then a path, query or fragment of RFC 3986
# characters (percent-escapes complete; brackets only belong in an IPv6 host, which is not taken).
HTTPS_URL_PATTERN = (
    r"^https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?"
    r"([/?#]([A-Za-z0-9._~:/?#@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)?$"
)


class RequiredCheckedLater:
    """A field documented as required whose absence the service reports, beside every other bad field at once."""

    def validate_empty_values(self, data):
        if data is empty:
            return True, None
        return super().validate_empty_values(data)


def documented_field(
    schema: dict, base: type[serializers.Field] = serializers.CharField, *, checked_later: bool = False
) -> type[serializers.Field]:
    """A subclass of `base` whose OpenAPI schema is `schema` (decorating `base` itself would change every field).

    `checked_later`: required in the schema, but a missing value reaches the service as None (see above).
    """
    bases = (RequiredCheckedLater, base) if checked_later else (base,)
    return extend_schema_field(schema)(type(f"Documented{base.__name__}", bases, {}))


def https_url_field(
    *, max_length: int, checked_later: bool = False, also_valid: Callable[[str], bool] | None = None, **kwargs
) -> serializers.CharField:
    """A CharField that takes only what HTTPS_URL_PATTERN states (the service checks the rest: a public host).

    `also_valid(value)`: an exception the schema does not state, e.g. http://127.0.0.1 in development.
    """
    schema = {"type": "string", "pattern": HTTPS_URL_PATTERN, "maxLength": max_length}
    if kwargs.get("allow_null"):
        schema["nullable"] = True

    def matches(value: str) -> None:
        if not re.match(HTTPS_URL_PATTERN, value) and not (also_valid and also_valid(value)):
            raise serializers.ValidationError(
                "Use an https:// URL of a public host name (no spaces, no user:password@)."
            )

    return documented_field(schema, checked_later=checked_later)(max_length=max_length, validators=[matches], **kwargs)


_JSON_TYPES = {
    serializers.BooleanField: (bool,),
    serializers.IntegerField: (int,),
    serializers.ListField: (list,),
    serializers.DictField: (dict,),
    serializers.CharField: (str,),  # ChoiceField, URLField, UUIDField... are CharFields or checked as str below
    serializers.ChoiceField: (str,),
}


class StrictJsonTypesMixin:
    """In a JSON body each field must have its documented JSON type: `"prompt": 5` or `"blocked": "yes"` is a 400.

    A serializer widens a field's types with `extra_json_types = {"duration": (str, int)}`. Form and multipart
    bodies (all strings) are left to the fields.
    """

    extra_json_types: dict[str, tuple[type, ...]] = {}

    def to_internal_value(self, data):
        if isinstance(data, dict) and not hasattr(data, "getlist"):
            errors = {}
            for name, field in self.fields.items():
                if name not in data or field.read_only:
                    continue
                value = data[name]
                if value is None:
                    continue  # the field's allow_null decides
                allowed = self.extra_json_types.get(name) or _allowed_types(field)
                if allowed and (not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed)):
                    errors[name] = [f"Expected {' or '.join(_json_name(t) for t in allowed)}."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _allowed_types(field) -> tuple[type, ...] | None:
    for field_class, types in _JSON_TYPES.items():
        if isinstance(field, field_class):
            return types
    return None  # DecimalField and others check their own input


def _json_name(python_type: type) -> str:
    return {bool: "a boolean", int: "an integer", list: "an array", dict: "an object", str: "a string"}[python_type]


class ClosedBodyMixin:
    """A body whose unknown fields are refused (400 `Unknown field.`), documented `additionalProperties: false`."""

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        return super().validate(attrs)


class ClosedBodyExtension(OpenApiSerializerExtension):
    target_class = ClosedBodyMixin
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema


class StrictQueryMixin:
    """A query parameter given empty (`?created_after=`) is refused unless its schema allows an empty string."""

    def to_internal_value(self, data):
        if hasattr(data, "getlist"):
            errors = {
                name: ["Give a value or leave the parameter out."]
                for name, field in self.fields.items()
                if data.get(name) == "" and not getattr(field, "allow_blank", False)
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
