"""``arkivuttrekk.xml``: the package's ADDML 8.3 description, after Arkivverket's template.

It names the package's creator, system and period, and for each XML file its SHA-256, its schemas
(with their SHA-256) and how many records it holds, so a receiving archive can check that what it
got is what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from xml.etree import ElementTree as ET

NS = "http://www.arkivverket.no/standarder/addml"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class PackageFile:
    name: str  # e.g. arkivstruktur.xml
    schema: str  # its main schema, e.g. arkivstruktur.xsd
    counts: dict[str, int]  # element name -> occurrences


@dataclass(frozen=True)
class Description:
    creator: str
    archive: str
    start: date
    end: date
    documents: int
    screened: bool


def _element(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{NS}}}{tag}", attrs)


def _property(
    parent: ET.Element, name: str, value: object = None, data_type: str = ""
) -> ET.Element:
    properties = parent.find(f"{{{NS}}}properties")
    if properties is None:
        properties = _element(parent, "properties")
    prop = _element(
        properties, "property", name=name, **({"dataType": data_type} if data_type else {})
    )
    if value is not None:
        _element(prop, "value").text = str(value)
    return prop


def _additional(parent: ET.Element, name: str, value: object = None) -> ET.Element:
    elements = parent.find(f"{{{NS}}}additionalElements")
    if elements is None:
        elements = _element(parent, "additionalElements")
    element = _element(elements, "additionalElement", name=name)
    if value is not None:
        _element(element, "value").text = str(value)
    return element


def _file(parent: ET.Element, name: str, checksum: str, kind: str | None = None) -> None:
    file = _property(parent, "file")
    _property(file, "name", name)
    _property(_property(file, "format", "XML"), "version", "1.0")
    digest = _property(file, "checksum")
    _property(digest, "algorithm", "SHA-256")
    _property(digest, "value", checksum)
    if kind:
        _property(_property(parent, "type", kind), "version", "1.0")


def write(out: Path, about: Description, files: list[PackageFile], sums: dict[str, str]) -> None:
    """Write ``arkivuttrekk.xml`` into ``out``; ``sums`` maps every file name to its SHA-256."""
    ET.register_namespace("", NS)
    ET.register_namespace("xsi", XSI)
    root = ET.Element(
        f"{{{NS}}}addml",
        {"name": "Noark 5-arkivuttrekk", f"{{{XSI}}}schemaLocation": f"{NS} addml.xsd"},
    )
    dataset = _element(root, "dataset")
    _element(dataset, "description").text = "Noark 5-arkivuttrekk"
    reference = _element(dataset, "reference")
    context = _element(reference, "context")
    creators = _additional(context, "recordCreators")
    _additional(creators, "recordCreator", about.creator)
    _additional(context, "systemType", "Sakarkiv (Noark-5)")
    _additional(context, "systemName", "saksflyt")
    _additional(context, "archive", about.archive)
    period = _additional(_element(reference, "content"), "archivalPeriod")
    _property(period, "startDate", about.start.isoformat())
    _property(period, "endDate", about.end.isoformat())
    package = _element(_element(dataset, "dataObjects"), "dataObject", name="Noark 5-arkivuttrekk")
    info = _property(package, "info")
    _property(_property(info, "type", "Noark 5"), "version", "5.0")
    extra = _property(info, "additionalInfo")
    for name, flag in (
        ("inneholderSkjermetInformasjon", about.screened),
        ("omfatterDokumenterSomErKassert", False),
        ("inneholderDokumenterSomSkalKasseres", False),
        ("inneholderVirksomhetsspesifikkeMetadata", False),
    ):
        _property(extra, name, str(flag).lower(), "boolean")
    _property(extra, "antallDokumentfiler", about.documents, "integer")
    children = _element(package, "dataObjects")
    for file in files:
        item = _element(children, "dataObject", name=file.name.removesuffix(".xml"))
        _file(item, file.name, sums[file.name])
        main = _property(item, "schema", "main")
        _file(main, file.schema, sums[file.schema], "XML Schema")
        if file.schema != "metadatakatalog.xsd" and file.name != "arkivuttrekk.xml":
            _file(
                _property(item, "schema"),
                "metadatakatalog.xsd",
                sums["metadatakatalog.xsd"],
                "XML Schema",
            )
        counted = _property(item, "info")
        for element, n in file.counts.items():
            occurrences = _property(counted, "numberOfOccurrences", element)
            _property(occurrences, "elementPath", f"//{element}")
            _property(occurrences, "value", n, "integer")
    ET.indent(root)
    ET.ElementTree(root).write(out / "arkivuttrekk.xml", encoding="utf-8", xml_declaration=True)
