"""演示数据 / the demo: Sichuan departments, accounts, catalog entries and their data.

``shudata demo`` calls :func:`shudata.demo.loader.load_demo`; everything goes through the
platform's own services (security, catalog, ingest) as ``Actor.system()``.
"""
