"""PDF/A-1b validation by Apache PDFBox Preflight (jars fetched by ``compose/pdfa.sh``): one Java
process checks a whole list of files and answers per file."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from xml.etree import ElementTree as ET

from tests import needs


class Preflight:
    def __init__(self, jars: Path) -> None:
        self.java = needs.tool("java", hint="`make test` installs it (compose/kafka.sh tools)")
        self.jars = jars

    def errors(self, files: Iterable[Path], work: Path) -> dict[str, list[str]]:
        """Each file's name -> its PDF/A-1b errors (empty when valid)."""
        listing = work / "preflight.txt"
        paths = [str(path) for path in files]
        listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
        validator = "org.apache.pdfbox.preflight.Validator_A1b"
        subprocess.run(
            [self.java, "-cp", f"{self.jars}/*", validator, "xml", "group", str(listing)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        report = ET.parse(f"{listing}.preflight.xml").getroot()
        found = {
            item.get("name", ""): [
                f"{error.findtext('code')}: {error.findtext('details')}"
                for error in item.iter("error")
            ]
            + ([] if item.findtext("isValid") == "true" else ["not valid"])
            for item in report.iter("preflight")
        }
        assert len(found) == len(paths), "Preflight did not answer for every file"
        return {name: sorted(set(errors)) for name, errors in found.items()}
