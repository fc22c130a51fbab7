"""Streaming XML for the package's files: elements written as they come, nothing held."""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import TextIOBase
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

XSI = "http://www.w3.org/2001/XMLSchema-instance"
NO_ATTRIBUTES = AttributesImpl({})


class Fragment:
    """Elements written to a stream without a document around them (a part file)."""

    def __init__(self, stream: TextIOBase) -> None:
        self.out = XMLGenerator(stream, "utf-8", short_empty_elements=True)

    def open(self, name: str, xsi_type: str | None = None) -> None:
        self.out.startElement(name, AttributesImpl({"xsi:type": xsi_type} if xsi_type else {}))

    def close(self, name: str) -> None:
        self.out.endElement(name)

    def leaf(self, name: str, value: object) -> None:
        """``<name>value</name>``; nothing for None (an optional element left out)."""
        if value is None:
            return
        self.out.startElement(name, NO_ATTRIBUTES)
        self.out.characters(text(value))
        self.out.endElement(name)

    def leaves(self, *pairs: tuple[str, object]) -> None:
        for name, value in pairs:
            self.leaf(name, value)


class Document(Fragment):
    """One file: the root element in its namespace, pointing at its schema."""

    def __init__(self, stream: TextIOBase, root: str, namespace: str, schema: str) -> None:
        super().__init__(stream)
        self.out.startDocument()
        self.root = root
        attrs = {
            "xmlns": namespace,
            "xmlns:xsi": XSI,
            "xsi:schemaLocation": f"{namespace} {schema}",
        }
        self.out.startElement(root, AttributesImpl(attrs))

    def flush_start(self) -> None:
        """End any open start tag, so raw content may be appended to the stream next."""
        self.out.characters("\n")

    def end(self) -> None:
        self.out.endElement(self.root)
        self.out.endDocument()


def text(value: object) -> str:
    """Times in UTC with a zone, dates as ISO dates, anything else as its string."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
