"""Readers and writers of the files Lion Rock takes and gives (DESIGN.md, "Layout of the edge").

The core (listing, offering, clearing, ...) does no file I/O: it is given values. This package
turns files into those values and results into files:

Each file, its module, and what it is read into or written from:

- issuer profile (TOML or JSON: the REST body): `lionrock.files.profiles`; into `IssuerProfile`
  through one msgspec schema (`ProfileError` names the field)
- offering file (TOML, or its tables as JSON: the REST body): `lionrock.files.offerings`; into
  `OfferingSpec` through one msgspec schema (`Reject` names the field)
- IOI and application books (CSV or Parquet): `lionrock.files.books`; into `IoiBook`,
  `ApplicationBook` (bad rows as `RowReject`)
- allotment results (CSV): `lionrock.files.announcements`; from `AllocationResult`
- exchange calendars: `lionrock.files.calendars` writes the kernel's `calendar_data` module from
  `exchange-calendars` (``python -m lionrock.files.calendars``, when the library corrects a holiday)

`lionrock.files.schema` holds what every file schema shares: value types decoded through the
kernel's parsers (prices, rates, amounts, identifiers) and the field-named errors.

Arrows point down: this package imports the core, never the other way.
"""

from lionrock.files.announcements import write_placing_csv, write_public_csv
from lionrock.files.books import BookFileError, IoiFileRules, read_application_book, read_ioi_book
from lionrock.files.offerings import (
    OFFERING_FILE_KEYS,
    decode_offering_json,
    load_offering,
    loads_offering,
    parse_offering,
)
from lionrock.files.profiles import (
    decode_profile_json,
    load_profile,
    loads_profile,
    profile_from_dict,
)

__all__ = [
    "OFFERING_FILE_KEYS",
    "BookFileError",
    "IoiFileRules",
    "decode_offering_json",
    "decode_profile_json",
    "load_offering",
    "load_profile",
    "loads_offering",
    "loads_profile",
    "parse_offering",
    "profile_from_dict",
    "read_application_book",
    "read_ioi_book",
    "write_placing_csv",
    "write_public_csv",
]
