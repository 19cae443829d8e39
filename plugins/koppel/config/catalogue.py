"""How a flow streams a catalogue: a file of many records, never held in memory whole.

A flow with a ``catalogue:`` block (the products flow of a large assortment)
is streamed end to end: the inbound file goes from the server into the store
in chunks, is parsed record by record, and only the products that changed go
out, in batch files of ``records_per_file``. See ``docs/catalogues.md``.
"""

from __future__ import annotations

from pydantic import Field

from koppel.config.base import ConfigModel

#: Default largest catalogue file: far above any real assortment, below what fills a disk.
DEFAULT_MAX_STREAM_BYTES = 4 * 1024**3
#: Default products per outbound batch file: a few MB of XML, one SFTP upload each.
DEFAULT_RECORDS_PER_FILE = 5_000
#: Default records staged per store transaction: the most a crash can make a rerun redo.
DEFAULT_CHUNK_RECORDS = 10_000


class CatalogueSettings(ConfigModel):
    """Settings of a streamed catalogue flow.

    Attributes:
        max_stream_bytes: largest inbound file accepted (the flow's
            ``max_file_bytes`` applies to whole-document flows only); a larger
            file is refused unread, as ``file.too_large``.
        records_per_file: products per outbound batch file (or API page).
        chunk_records: records stored per transaction while streaming; after
            a crash the rerun goes on from the last chunk stored.
    """

    max_stream_bytes: int = Field(default=DEFAULT_MAX_STREAM_BYTES, gt=0)
    records_per_file: int = Field(default=DEFAULT_RECORDS_PER_FILE, gt=0, le=100_000)
    chunk_records: int = Field(default=DEFAULT_CHUNK_RECORDS, gt=0, le=1_000_000)
