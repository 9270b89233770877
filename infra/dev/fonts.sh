#!/usr/bin/env bash
# Installs what PDF export and its tests use beyond the compiled-in DejaVu fonts:
#   - a CJK font (Debian's fonts-ipafont-gothic, IPAGothic), the fallback the
#     generation service finds at /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf
#     for Japanese (and the kanji of Chinese) text; GENERATION_PDF_FONTS overrides;
#   - poppler-utils (pdftotext, pdfinfo), with which the tests read the PDFs back.
# Usage: infra/dev/fonts.sh [ensure]
set -euo pipefail
source "$(dirname "$0")/env.sh"

font=/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf
if [[ -f "$font" ]] && command -v pdftotext >/dev/null 2>&1 && command -v pdfinfo >/dev/null 2>&1; then
  exit 0
fi
log "installing fonts-ipafont-gothic and poppler-utils from Debian packages"
sudo=()
[[ "$(id -u)" == 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq fonts-ipafont-gothic poppler-utils >/dev/null
[[ -f "$font" ]] || die "fonts-ipafont-gothic did not install $font"
