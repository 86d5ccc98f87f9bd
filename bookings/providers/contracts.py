"""A provider's contract as data: one JSON Schema per request we send and answer we
read, written from the vendor's published documentation (each schema's `$comment` and
`x-source` name the page), and the vendor's own examples beside them (docs/contracts.md).

Readers check an answer against its schema before using it, so an answer of another shape
is refused with the field and the reason named; tests hold the clients' requests and the
sandbox's answers to the same schemas.

Two validators read the same schemas. jsonschema-rs answers whether data is valid, about
400 times faster than python-jsonschema (a deal: 3 µs instead of 1.1 ms), which made the
check most of a viewing sync's CPU (docs/scaling.md); python-jsonschema says what is wrong
when it is not, in the words staff and logs have always shown. Formats are python-jsonschema's
in both (the Rust one asks it), so the two agree on what passes
(tests/contracts/test_every_contract.py).
"""

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

FORMAT_CHECKER = FormatChecker()


class ContractViolation(ValueError):
    """Data that does not match a schema of the contract; `field` is its path
    ("viewings[0].startDate"), `reason` what is wrong there."""

    def __init__(self, schema: str, field: str, reason: str):
        super().__init__(f"{field or 'the answer'}: {reason}")
        self.schema = schema
        self.field = field
        self.reason = reason


def field_path(parts) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


class Contract:
    """The schemas in `folder` (`<name>.schema.json`) and the vendor's examples in
    `folder/examples` (`<name>.json`)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @cached_property
    def _schemas(self) -> dict[str, dict]:
        """Each schema file's contents by its file name (its `$id`)."""
        return {
            path.name: json.loads(path.read_text())
            for path in sorted(self.folder.glob("*.schema.json"))
        }

    @cached_property
    def _registry(self) -> Registry:
        return Registry().with_resources(
            (name, Resource.from_contents(contents)) for name, contents in self._schemas.items()
        )

    @cached_property
    def _fast_registry(self) -> jsonschema_rs.Registry:
        return jsonschema_rs.Registry(list(self._schemas.items()))

    @cached_property
    def _formats(self) -> dict:
        """Every format the schemas name, checked as python-jsonschema checks it (a format
        it has no checker for, such as date-time without rfc3339-validator, passes)."""
        names: set[str] = set()

        def walk(node):
            if isinstance(node, dict):
                if isinstance(node.get("format"), str):
                    names.add(node["format"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(list(self._schemas.values()))
        return {
            name: lambda value, name=name: FORMAT_CHECKER.conforms(value, name) for name in names
        }

    @cached_property
    def names(self) -> list[str]:
        return sorted(
            p.name.removesuffix(".schema.json") for p in self.folder.glob("*.schema.json")
        )

    def schema(self, name: str) -> dict:
        return self._registry.contents(f"{name}.schema.json")

    @cached_property
    def _validators(self) -> dict[str, Draft202012Validator]:
        """python-jsonschema's, which say what is wrong: one per schema."""
        return {
            name: Draft202012Validator(
                self.schema(name), registry=self._registry, format_checker=FORMAT_CHECKER
            )
            for name in self.names
        }

    @cached_property
    def _fast_validators(self) -> dict[str, jsonschema_rs.Draft202012Validator]:
        """jsonschema-rs's, which say whether data is valid: one per schema (a few
        milliseconds for a whole contract, once)."""
        return {
            name: jsonschema_rs.Draft202012Validator(
                self.schema(name),
                registry=self._fast_registry,
                validate_formats=True,
                formats=self._formats,
            )
            for name in self.names
        }

    def violations(self, name: str, data: Any) -> list[ContractViolation]:
        """Every way `data` breaks schema `name`, shallowest first."""
        # Most data matches: the fast validator says so, and nothing more is needed.
        if self._fast_validators[name].is_valid(data):
            return []
        errors = sorted(self._validators[name].iter_errors(data), key=lambda e: len(e.path))
        return [ContractViolation(name, field_path(e.absolute_path), e.message) for e in errors]

    def check(self, name: str, data: Any) -> Any:
        """`data`, if it matches schema `name`; raises the first ContractViolation otherwise."""
        if violations := self.violations(name, data):
            raise violations[0]
        return data

    def max_lengths(self, name: str) -> dict[str, int]:
        """The `maxLength` of each property in schema `name` that has one, by the property's
        own name (nested objects, arrays and `$ref`s followed; where a name recurs, the
        shortest): the limits of a request's fields."""
        limits: dict[str, int] = {}
        seen: set[int] = set()

        def resolve(schema, resolver):
            while isinstance(schema, dict) and "$ref" in schema:
                resolved = resolver.lookup(schema["$ref"])
                schema, resolver = resolved.contents, resolved.resolver
            return schema, resolver

        def walk(schema, resolver):
            schema, resolver = resolve(schema, resolver)
            if not isinstance(schema, dict) or id(schema) in seen:
                return
            seen.add(id(schema))
            for property_name, subschema in schema.get("properties", {}).items():
                subschema, subresolver = resolve(subschema, resolver)
                if isinstance(subschema, dict) and "maxLength" in subschema:
                    limit = subschema["maxLength"]
                    limits[property_name] = min(limit, limits.get(property_name, limit))
                walk(subschema, subresolver)
            for key in ("allOf", "anyOf", "oneOf"):
                for subschema in schema.get(key, []):
                    walk(subschema, resolver)
            walk(schema.get("items"), resolver)

        walk(self.schema(name), self._registry.resolver(base_uri=f"{name}.schema.json"))
        return limits

    def example(self, name: str) -> Any:
        """A vendor example kept as a fixture (`examples/<name>.json`)."""
        return json.loads((self.folder / "examples" / f"{name}.json").read_text())

    def examples(self) -> list[str]:
        return sorted(p.stem for p in (self.folder / "examples").glob("*.json"))
