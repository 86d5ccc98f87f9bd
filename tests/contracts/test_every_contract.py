"""What every provider's contract holds to (docs/contracts.md), whatever the system: each
schema names the vendor pages or documents it is written from (`x-source`: one or a list)
and what it describes, and each vendor example kept as a fixture matches the schema of its
name."""

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
