"""The ground floor: the catalogues of problems shown to staff (delivery.py: delivering and
polling; viewing_import.py: reading a deal or estate), on agencies/problems.py's machinery.
Imports no feature package, so every package that says what went wrong sits above it
(tests/test_app_boundaries.py)."""
