#!/usr/bin/env bash
# Apache PDFBox Preflight, the PDF/A-1b validator the tests run over the letters saksflyt writes.
#   pdfa.sh path   fetches the pinned jars from Maven Central once (cached) and prints the folder
#                  that holds them (a Java class path is "<folder>/*")
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's:.*<pdfbox.version>\(.*\)</pdfbox.version>.*:\1:p' "$here/pdfa/pom.xml")
cache="${XDG_CACHE_HOME:-$HOME/.cache}/saksflyt/preflight-$version"

case "${1:-}" in
  path)
    if [ ! -f "$cache/libs/preflight-$version.jar" ]; then
      "$here/kafka.sh" tools  # Java and Maven, from Debian's packages when missing
      echo "pdfa.sh: fetching Apache PDFBox Preflight $version from Maven Central into $cache" >&2
      mvn -q -B -f "$here/pdfa/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$cache/libs.tmp" >&2
      rm -rf "$cache/libs" && mv "$cache/libs.tmp" "$cache/libs"
    fi
    echo "$cache/libs"
    ;;
  *) echo "usage: $0 path" >&2; exit 2 ;;
esac
