"""Documents: their format told from their content, and their text extracted.

Light on purpose: ``wordfreq count`` imports this package to sniff an input's first bytes
(``sniff.py``); the extractors and their libraries (selectolax, pypdf, defusedxml) load
only when a document is met (``extract.py``).
"""
