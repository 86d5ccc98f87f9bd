"""What every provider's contract holds to (docs/contracts.md), whatever the system: each
schema names the vendor pages or documents it is written from (`x-source`: one or a list)
and what it describes, and each vendor example kept as a fixture matches the schema of its
name."""

import json

import pytest

from bookings.providers import PLUGINS

SCHEMAS = [(system, name) for system, plugin in PLUGINS.items() for name in plugin.contract.names]
EXAMPLES = [
    (system, name) for system, plugin in PLUGINS.items() for name in plugin.contract.examples()
]


def test_every_provider_keeps_schemas_and_vendor_examples():
    assert {system for system, _ in SCHEMAS} == set(PLUGINS)
    assert {system for system, _ in EXAMPLES} == set(PLUGINS)


@pytest.mark.parametrize(("system", "name"), SCHEMAS)
def test_every_schema_names_its_vendor_source(system, name):
    schema = PLUGINS[system].contract.schema(name)
    sources = schema["x-source"]
    sources = sources if isinstance(sources, list) else [sources]

    assert sources and all(isinstance(source, str) and source.strip() for source in sources)
    assert schema.get("title") or schema.get("$comment")


@pytest.mark.parametrize(("system", "name"), EXAMPLES)
def test_every_vendor_example_matches_its_schema(system, name):
    contract = PLUGINS[system].contract

    assert contract.violations(name, contract.example(name)) == []


OTHER_VALUES = (None, True, 0, -1, 2**40, 1.5, "", "x" * 300, "2026-13-45", "@", [], {})


def mutations(document):
    """The document, then with each value at every depth (the whole document too) dropped,
    or replaced by one of OTHER_VALUES."""
    yield document
    box = {"document": document}
    for path in paths(box):
        if path != ("document",):
            yield changed(box, path, drop=True)["document"]
        for other in OTHER_VALUES:
            yield changed(box, path, other)["document"]


def paths(node, prefix=()):
    """The path of every value inside a dict or list, at every depth."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield (*prefix, key)
        if isinstance(value, dict | list):
            yield from paths(value, (*prefix, key))


def changed(document, path, value=None, drop=False):
    copy = json.loads(json.dumps(document))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copy


@pytest.mark.parametrize(("system", "name"), EXAMPLES)
def test_both_validators_pass_the_same_data(system, name):
    """The fast validator's yes or no is python-jsonschema's, on the vendor's example and on
    every one-value change to it (bookings/providers/contracts.py)."""
    contract = PLUGINS[system].contract
    fast, explaining = contract._fast_validators[name], contract._validators[name]

    for data in mutations(contract.example(name)):
        assert fast.is_valid(data) == explaining.is_valid(data), data
