"""Documents for the library (qa_kit.library): parse files, cut passages, store, encode, retrieve.

Each module holds one step; `qa_kit.library` puts them together. Nothing below the library study
imports this package, and its optional dependencies (pypdf, selectolax, the encoder's weights) are
imported only when used: the `library` extra, `pip install 'qa-kit[library]'`.
"""
