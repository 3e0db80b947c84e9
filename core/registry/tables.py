"""The registry's TinyDB tables, keyed by text (deployment id, environment name, month, record key).

TinyDB numbers its documents and declares ids as int; the registry keys them by str instead (its table class
sets document_id_class = str), which TinyDB supports but does not type. This wrapper is the one place that
mismatch lives, so the registry itself is type-checked against what it really stores.
"""

from __future__ import annotations

from typing import Any

from tinydb import TinyDB
from tinydb.table import Table

Doc = dict[str, Any]


class StrKeyTable(Table):
    """A TinyDB table whose document ids are the registry's own keys."""

    document_id_class = str  # type: ignore[assignment]  # TinyDB declares type[int]; str ids work the same way


class RegistryDB(TinyDB):
    table_class = StrKeyTable


class Docs:
    """Documents of one table by key; every read copies nothing and every write goes through the storage."""

    def __init__(self, db: TinyDB, name: str) -> None:
        self._table: Any = db.table(name, cache_size=0)  # Any: the ids are str here, see the module doc

    def get(self, key: str) -> Doc | None:
        found: Doc | None = self._table.get(doc_id=key)
        return found

    def contains(self, key: str) -> bool:
        return bool(self._table.contains(doc_id=key))

    def all(self) -> dict[str, Doc]:
        return {doc.doc_id: doc for doc in self._table.all()}

    def put(self, key: str, doc: Doc) -> None:
        """Insert, or update the document's fields (TinyDB's upsert merges keys into what is held)."""
        self._table.upsert(self._table.document_class(doc, doc_id=key))

    def insert(self, key: str, doc: Doc) -> None:
        self._table.insert(self._table.document_class(doc, doc_id=key))

    def remove(self, *keys: str) -> None:
        self._table.remove(doc_ids=list(keys))
