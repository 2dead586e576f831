"""Comparative text analysis of local reports on the 2021 Party-history learning campaign.

Modules, in data-flow order: ``ingest`` (raw files -> Document), ``clean``
(Document -> CleanDocument with paragraphs and an audit log), ``tokens``
(jieba segmentation), ``topics`` (TF-IDF clustering), ``numerals`` and
``metrics`` (quantitative claims), ``formulaic`` (slogans, formulations, reuse),
``tables`` and ``figures`` (comparison tables and plots), ``pipeline``
(papermill run and HTML export). Import the module you need:
``from analysis import numerals``.
"""

__version__ = "0.1.0"
