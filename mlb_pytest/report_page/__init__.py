"""The parts of the HTML report page (``html_report.py`` puts them together).

``inputs``: what the page reads (the typed report, the baseline it is compared with);
``fmt``: escaping and numbers; ``assets``: the inline CSS and script; one module per section:
``overview`` (verdict, gates, chart, dataset table), ``items``, ``run_facts``.
"""
