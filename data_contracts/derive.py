"""Derive every schema from the event models: JSON Schema, Spark schema, GX suites.

Nothing here restates a field by hand. Flat table columns are produced from model fields by
:func:`columns_of`, carrying each field's type, nullability, bounds, pattern and description;
Spark ``StructType`` s and Great Expectations suites are generated from those column specs.
Spark and Great Expectations are imported lazily so the contracts stay light for the worker.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

import annotated_types
from pydantic import AwareDatetime, BaseModel, NaiveDatetime
from pydantic.fields import FieldInfo

if TYPE_CHECKING:
    from great_expectations.core.expectation_suite import ExpectationSuite
    from pyspark.sql.types import DataType, StructType

Kind = Literal["string", "long", "int", "double", "boolean", "timestamp", "date", "binary"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a flat table, with the rules its values must satisfy.

    Attributes:
        name: Column name.
        kind: Logical type (maps to a Spark type and a Delta type).
        nullable: Whether null is allowed.
        description: What the column means (from the model field's description).
        ge / le / gt / lt: Numeric bounds, if any.
        pattern: Regular expression string values must match, if any.
        allowed: Closed set of allowed values, if any.
    """

    name: str
    kind: Kind
    nullable: bool
    description: str = ""
    ge: float | None = None
    le: float | None = None
    gt: float | None = None
    lt: float | None = None
    pattern: str | None = None
    allowed: tuple[Any, ...] | None = None


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _strip_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        annotation, metadata = args[0], metadata + list(args[1:])
    return annotation, metadata


def _kind_of(annotation: Any, where: str) -> Kind:
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "long"
    if annotation is float:
        return "double"
    if annotation is str or typing.get_origin(annotation) is Literal:
        return "string"
    if annotation in (AwareDatetime, NaiveDatetime) or (
        isinstance(annotation, type) and issubclass(annotation, datetime)
    ):
        return "timestamp"
    if isinstance(annotation, type) and issubclass(annotation, date):
        return "date"
    if annotation is bytes:
        return "binary"
    raise TypeError(f"{where}: no flat column type for annotation {annotation!r}")


def _column_from_field(name: str, info: FieldInfo, where: str) -> Column:
    annotation, optional = _unwrap_optional(info.annotation)
    annotation, metadata = _strip_annotated(annotation)
    metadata = metadata + list(info.metadata)
    nested_desc = ""
    bounds: dict[str, Any] = {}
    for meta in metadata:
        if isinstance(meta, FieldInfo):
            nested_desc = meta.description or nested_desc
            metadata.extend(meta.metadata)
            continue
        for attr in ("ge", "le", "gt", "lt"):
            if isinstance(meta, getattr(annotated_types, attr.capitalize())):
                bounds[attr] = getattr(meta, attr)
        pattern = getattr(meta, "pattern", None)
        if isinstance(pattern, str):
            bounds["pattern"] = pattern
    allowed = None
    if typing.get_origin(annotation) is Literal:
        allowed = tuple(typing.get_args(annotation))
    return Column(
        name=name,
        kind=_kind_of(annotation, f"{where}.{name}"),
        nullable=optional,
        description=info.description or nested_desc,
        allowed=allowed,
        **bounds,
    )


def columns_of(
    model: type[BaseModel],
    *,
    exclude: Iterable[str] = (),
    nullable: bool | None = None,
) -> list[Column]:
    """Flat columns for the scalar fields of ``model`` (list/model fields must be excluded).

    Args:
        model: The pydantic model whose fields become columns.
        exclude: Field names to leave out (e.g. the nested ``detections`` list).
        nullable: Force every column's nullability (e.g. when an outer join may leave nulls).
    """
    skip = set(exclude)
    cols = [
        _column_from_field(name, info, model.__name__)
        for name, info in model.model_fields.items()
        if name not in skip
    ]
    if nullable is not None:
        cols = [replace(c, nullable=nullable) for c in cols]
    return cols


# --- JSON Schema -------------------------------------------------------------------------


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an event model, as validators outside Python use it."""
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    topic = getattr(model, "TOPIC", None)
    if topic:
        schema["$id"] = f"urn:storeheat:{topic}"
    return schema


# --- Spark ------------------------------------------------------------------------------


def _spark_type(kind: Kind) -> DataType:
    from pyspark.sql import types as T

    return {
        "string": T.StringType(),
        "long": T.LongType(),
        "int": T.IntegerType(),
        "double": T.DoubleType(),
        "boolean": T.BooleanType(),
        "timestamp": T.TimestampType(),
        "date": T.DateType(),
        "binary": T.BinaryType(),
    }[kind]


def spark_schema_of_columns(columns: Sequence[Column]) -> StructType:
    """A Spark ``StructType`` for flat columns (descriptions kept as field comments)."""
    from pyspark.sql import types as T

    return T.StructType(
        [
            T.StructField(c.name, _spark_type(c.kind), c.nullable, {"comment": c.description})
            for c in columns
        ]
    )


def spark_schema(model: type[BaseModel]) -> StructType:
    """The nested Spark schema of an event model, for ``from_json`` on Kafka values."""
    from pyspark.sql import types as T

    fields = []
    for name, info in model.model_fields.items():
        annotation, optional = _unwrap_optional(info.annotation)
        annotation, _ = _strip_annotated(annotation)
        data_type: DataType
        if typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            item, _ = _strip_annotated(item)
            if isinstance(item, type) and issubclass(item, BaseModel):
                data_type = T.ArrayType(spark_schema(item), containsNull=False)
            else:
                data_type = T.ArrayType(_spark_type(_kind_of(item, f"{model.__name__}.{name}")))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            data_type = spark_schema(annotation)
        else:
            data_type = _spark_type(_column_from_field(name, info, model.__name__).kind)
        fields.append(
            T.StructField(name, data_type, optional, {"comment": info.description or ""})
        )
    return T.StructType(fields)


# --- Great Expectations -----------------------------------------------------------------


def expectation_suite(name: str, columns: Sequence[Column]) -> ExpectationSuite:
    """A GX 1.x suite checking every column's presence, nullability, bounds and pattern."""
    import great_expectations.expectations as gxe
    from great_expectations.core.expectation_suite import ExpectationSuite

    expectations: list[Any] = [
        gxe.ExpectTableColumnsToMatchSet(column_set=[c.name for c in columns], exact_match=False)
    ]
    for c in columns:
        if not c.nullable:
            expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=c.name))
        lo = c.ge if c.ge is not None else c.gt
        hi = c.le if c.le is not None else c.lt
        if lo is not None or hi is not None:
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=c.name,
                    min_value=lo,
                    max_value=hi,
                    strict_min=c.ge is None and c.gt is not None,
                    strict_max=c.le is None and c.lt is not None,
                )
            )
        if c.pattern is not None:
            expectations.append(gxe.ExpectColumnValuesToMatchRegex(column=c.name, regex=c.pattern))
        if c.allowed is not None:
            expectations.append(
                gxe.ExpectColumnValuesToBeInSet(column=c.name, value_set=list(c.allowed))
            )
    return ExpectationSuite(name=name, expectations=expectations)
