"""MSPECS's contract (docs/contracts.md, docs/mspecs.md): answers are checked against it
before they are read."""

from pathlib import Path

from bookings.providers.contracts import Contract

CONTRACT = Contract(Path(__file__).parent / "contract")
