"""Write the sample library's PDF files (data/library/*.pdf) from the texts below, with fpdf2.

Run once at build time (`pip install fpdf2==2.8.9`, not a dependency of the kit); the PDFs are
committed. Each inner list is one page, each string one paragraph. The texts were written for
qa-kit: the places, people and figures are invented.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List

DOCUMENTS: Dict[str, Dict[str, object]] = {
    "railway_tunnel": {"title": "The Greyfell Tunnel", "pages": [[
        "The Greyfell Tunnel carries the main line under the Greyfell ridge between Hartside and "
        "Lowther. It is 6.2 kilometres long, and for thirty years after it opened it was the longest "
        "railway tunnel in the country.",
        "The tunnel was designed by the engineer Rufus Harlan and built between 1879 and 1886. Crews "
        "worked from both ends and from four shafts sunk from the hilltop, and when the headings met "
        "in 1884 they were out of line by only eleven centimetres.",
    ], [
        "The work cost the lives of 37 men, most of them in a flood in 1881, when the diggers broke "
        "into an underground stream. A memorial to them stands beside the southern portal.",
        "Steam trains filled the tunnel with smoke, and in 1903 a fan house was built over the "
        "central shaft to drive fresh air through it. The line was electrified in 1962.",
    ]]},
    "glacier_study": {"title": "The retreat of the Halvard Glacier", "pages": [[
        "The Halvard Glacier has retreated 1.3 kilometres since 1950, and its tongue is now thinner "
        "by about forty metres. This report summarises twenty years of measurements made from the "
        "research station at Nordby.",
        "The study is led by Dr. Signe Aaberg of the Polar Institute, with a team of six glaciologists "
        "and students who spend each summer on the ice.",
    ], [
        "Methods. The team measures the glacier's surface with a network of 48 aluminium stakes "
        "drilled into the ice and located with satellite positioning each August. Drones photograph "
        "the front of the glacier every two weeks from June to September.",
        "Findings. The retreat has sped up: the front moved back 9 metres a year in the 1990s and 31 "
        "metres a year since 2015. A lake that formed in front of the glacier in 2008 now covers 2.4 "
        "square kilometres.",
    ]]},
    "bird_survey": {"title": "Sallow Marsh wetland bird survey 2022", "pages": [[
        "Volunteers counted the birds of Sallow Marsh on the second Sunday of every month in 2022. The "
        "winter count in January was the year's largest: 7,412 birds of 63 species.",
        "The most numerous bird was the teal, with 2,150 in January, followed by the wigeon and the "
        "lapwing. Numbers of the bittern, a shy heron that booms in spring, rose to four calling males.",
        "In May a spoonbill was seen on the marsh for the first time, feeding in the shallow lagoon "
        "for three days. The survey is run by the Sallow Marsh Trust, which bought the marsh in 1996.",
    ]]},
    "vineyard": {"title": "Castell Ridge Vineyard", "pages": [[
        "Castell Ridge Vineyard was planted in 1998 on a chalk slope facing south over the Teme valley. "
        "Its 11 hectares grow Pinot Noir, Chardonnay and Bacchus grapes.",
        "The winemaker is Lena Ostrova, who trained in Burgundy and joined the vineyard in 2010. Her "
        "sparkling white, made like champagne and aged for three years, won a gold medal in 2021.",
        "Harvest begins in late September and is done by hand by about forty pickers. The vineyard "
        "makes around 60,000 bottles in a good year, and tours with a tasting run from May to October.",
    ]]},
    "clockmaker": {"title": "Anselm Ridley, clockmaker", "pages": [[
        "Anselm Ridley was born in 1791 in the market town of Stenby, the son of a blacksmith. He was "
        "apprenticed at fourteen to a watchmaker in the county town and opened his own workshop in "
        "1816.",
        "His best known work is the great clock of St Barnabas church, finished in 1834, with four "
        "dials each three metres across.",
    ], [
        "Ridley's lasting invention was a new escapement, the part of a clock that lets the wheels "
        "turn one step at a time. Known as the Ridley detent, it kept time to within a second a week "
        "and was used in ships' chronometers for fifty years.",
        "Ridley died in 1862. His workshop tools and notebooks are kept at the Stenby town museum.",
    ]]},
}


def write_pdf(name: str, title: str, pages: List[List[str]], folder: Path) -> Path:
    """One PDF: the title on the first page, then each page's paragraphs."""
    from fpdf import FPDF

    pdf = FPDF(format="A5")  # noqa
    pdf.set_title(title)
    pdf.set_creation_date(datetime(2026, 12, 1, tzinfo=timezone.utc))  # fixed, so rebuilding writes the same bytes
    pdf.set_margins(14, 14)
    for number, paragraphs in enumerate(pages):
        pdf.add_page()
        if number == 0:
            pdf.set_font("Helvetica", "B", 14)
            pdf.multi_cell(0, 7, title)
            pdf.ln(3)
        pdf.set_font("Helvetica", size=10)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 5, paragraph)
            pdf.ln(3)
    path = folder / f"{name}.pdf"
    pdf.output(str(path))
    return path


def main(folder: str = "data/library") -> None:
    """Write every PDF into `folder`."""
    for name, spec in DOCUMENTS.items():
        print(write_pdf(name, spec["title"], spec["pages"], Path(folder)))


if __name__ == "__main__":
    main(*sys.argv[1:])
