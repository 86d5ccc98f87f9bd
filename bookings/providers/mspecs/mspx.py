"""Reading viewings and slots through MSPECS's MSPX API, the generic table routes beside the
External viewing API on the client endpoint (login.mspecs.se): docs/mspecs.md, "Two APIs".

A source is a deal: the External viewing API polls slot status per deal, and a viewing
belongs to one. Every read is on demand (import, *Sync from provider*, a sync of an
imported deal): the tables' fields are checked once per client through discovery
(`GET /schema/:table`),
then rows are read in pages of at most MSPX's 1,000 (`?limit=&offset=`, following the
`X-Results-Limit` header). Every datetime MSPX sends is UTC.
"""

from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import ngettext

from bookings.providers.base import (
    SHAPE_ERRORS,
    CallRecord,
    ImportedViewing,
    SourceListing,
    check_unique_ids,
    read_id,
)
from bookings.providers.contracts import ContractViolation
from bookings.providers.mspecs.schemas import CONTRACT
from bookings.providers.mspecs.viewings import BOOKABLE_TYPES, TIME_SLOTS, read_viewing

# get_api.txt: "the system ... currently enforces a general 1000 limit".
ROW_LIMIT = 1000
# A deal's viewings or a viewing's slots never come near this; a table that does is read
# wrongly (a query MSPX ignored), and is refused rather than read for ever.
MAX_PAGES = 20

# Assumed table names (docs/mspecs.md, "Two APIs"), and the fields each read needs: the
# discovery answer must list them, or nothing is read.
DEALS = "deals"
VIEWINGS = "viewings"
VIEWING_SLOTS = "viewingSlots"
NEEDED_FIELDS = {
    VIEWINGS: ("id", "dealId", "type", "startDate"),
    VIEWING_SLOTS: ("id", "viewingId", "startTime"),
}
LISTED_FIELDS = "id,dealId,type,startDate"


def equals(field: str, value: str) -> str:
    """An MSPX query (`?q=`) for rows whose `field` is `value`. The syntax is assumed
    (docs/mspecs.md); a value holding a quote cannot be written in it."""
    if "'" in value:
        raise ValueError("an id with a quote cannot be queried")
    return f"{field}='{value}'"


def list_endpoint(table: str, offset: int, **params: str) -> str:
    """`GET /:table` for the page starting at `offset`, at most ROW_LIMIT rows."""
    return f"/{table}?" + urlencode({"limit": ROW_LIMIT, "offset": offset, **params})


def parse_utc(value: str) -> datetime:
    """An MSPX datetime (ISO 8601, e.g. 2017-06-25T11:00:00.000Z): UTC when it names no
    offset, as discovery_api.txt says every datetime is."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def results_limit(record: CallRecord) -> int:
    """The most rows this answer could hold: its `X-Results-Limit` header (assumed to carry
    the limit the server applied), else the limit asked for."""
    value = record.headers.get("X-Results-Limit")
    if value is None:
        return ROW_LIMIT
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"X-Results-Limit header: {value[:20]!r} is not a row count")
    return int(value)


class MspxReads:
    """`fetch_viewings` and `list_sources` through the MSPX API, for a ProviderClient
    (bookings/providers/mspecs/client.py, ExternalViewingClient)."""

    def fetch_viewings(self, source_id: str) -> list[ImportedViewing]:
        """The deal's bookable viewings with their slots: the deal (its address titles
        them), its viewings, and each time-slot viewing's slots. Raises SourceReadError."""
        try:
            deal_query = equals("dealId", source_id)
        except ValueError as error:
            raise self.unexpected(source_id, error) from None
        self.check_fields(VIEWINGS, source_id)
        self.check_fields(VIEWING_SLOTS, source_id)
        deal = self.read_row(DEALS, source_id, "mspx_deal", source_id)
        title, address = deal_title_and_address(deal)
        imported = []
        for row in self.read_rows(VIEWINGS, "mspx_viewings", source_id, q=deal_query):
            if row["type"] not in BOOKABLE_TYPES:
                continue  # names no time a buyer could book (docs/mspecs.md)
            slots = []
            if row["type"] == TIME_SLOTS:
                slots = self.read_rows(
                    VIEWING_SLOTS,
                    "mspx_viewing_slots",
                    source_id,
                    q=equals("viewingId", row["id"]),
                )
            try:
                viewing = {**row, "slots": slots}
                imported.append(read_viewing(viewing, title, address, parse_utc))
            except SHAPE_ERRORS as error:
                raise self.unexpected(source_id, error) from None
        try:
            return check_unique_ids(imported)
        except ValueError as error:
            raise self.unexpected(source_id, error) from None

    def list_sources(self) -> list[SourceListing]:
        """The deals with viewings still to come that buyers could book, read from the
        viewings table newest first until the first that has passed."""
        self.check_fields(VIEWINGS, VIEWINGS)
        now = timezone.now()
        upcoming: dict[str, list[datetime]] = {}
        for page in self.pages(
            VIEWINGS, "mspx_viewings", VIEWINGS, sort="-startDate", fields=LISTED_FIELDS
        ):
            try:
                rows = [
                    (read_id(row["dealId"]), row["type"], parse_utc(row["startDate"]))
                    for row in page
                ]
            except SHAPE_ERRORS as error:
                raise self.unexpected(VIEWINGS, error) from None
            for deal_id, viewing_type, starts_at in rows:
                if starts_at >= now and viewing_type in BOOKABLE_TYPES:
                    upcoming.setdefault(deal_id, []).append(starts_at)
            if any(starts_at < now for *_, starts_at in rows):
                break
        return [
            SourceListing(deal_id, listing_title(deal_id, starts))
            for deal_id, starts in sorted(upcoming.items(), key=lambda item: min(item[1]))
        ]

    # --- the MSPX routes ---------------------------------------------------------------

    def check_fields(self, table: str, source_id: str) -> None:
        """Refuse to read `table` unless MSPX's discovery lists the fields we read from it;
        once per client (a table's fields do not change while the process runs)."""
        checked = self.__dict__.setdefault("mspx_checked_tables", set())
        if table in checked:
            return
        description = self.read_row("schema", table, "mspx_table_schema", source_id)
        names = {field["name"] for field in description["publicFields"]}
        missing = [name for name in NEEDED_FIELDS[table] if name not in names]
        if missing:
            raise self.unexpected(
                source_id, ValueError(f"MSPECS's {table} table has no field {missing[0]}")
            )
        checked.add(table)

    def read_row(self, table: str, row_id: str, contract_name: str, source_id: str) -> dict:
        """`GET /:table/:id`, checked against the contract."""
        record = self.read_source_record(f"/{table}/{quote(row_id, safe='')}", source_id)
        return self.checked(contract_name, table, record.body, source_id)

    def read_rows(self, table: str, contract_name: str, source_id: str, **params) -> list[dict]:
        """Every row of `GET /:table?...`, page by page."""
        return [
            row for page in self.pages(table, contract_name, source_id, **params) for row in page
        ]

    def pages(self, table: str, contract_name: str, source_id: str, **params):
        """The answers to `GET /:table?...` from offset 0, each checked against the
        contract, until one holds fewer rows than the server's limit."""
        offset = 0
        for _ in range(MAX_PAGES):
            record = self.read_source_record(list_endpoint(table, offset, **params), source_id)
            page = self.checked(contract_name, table, record.body, source_id)
            yield page
            try:
                limit = results_limit(record)
            except ValueError as error:
                raise self.unexpected(source_id, error) from None
            if len(page) < limit:
                return
            offset += len(page)
        raise self.unexpected(
            source_id, ValueError(f"{table}: more than {MAX_PAGES} pages of rows")
        )

    def checked(self, contract_name: str, table: str, data, source_id: str):
        """`data`, if it matches the contract; else a SourceReadError naming the field."""
        try:
            return CONTRACT.check(contract_name, data)
        except ContractViolation as violation:
            field = violation.field
            where = table + ("." if field and not field.startswith("[") else "") + field
            raise self.unexpected(source_id, ValueError(f"{where}: {violation.reason}")) from None


def deal_title_and_address(deal: dict) -> tuple[str, str]:
    """The deal's street address as the title ("Deal {id}" without one), and its full
    address, "street, postal code city"."""
    street = (deal.get("streetAddress") or "").strip()
    place = " ".join((deal.get(k) or "").strip() for k in ("postalCode", "city")).strip()
    title = street or f"Deal {deal['id']}"  # stored, so in no one reader's language
    return title[:200], ", ".join(part for part in (street, place) if part)[:300]


def listing_title(deal_id: str, starts: list[datetime]) -> str:
    first = date_format(timezone.localtime(min(starts)), "SHORT_DATETIME_FORMAT")
    return ngettext(
        "Deal %(deal)s: %(count)d viewing, from %(first)s",
        "Deal %(deal)s: %(count)d viewings, from %(first)s",
        len(starts),
    ) % {"deal": deal_id, "count": len(starts), "first": first}
