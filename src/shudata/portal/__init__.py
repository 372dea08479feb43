"""Open-data portal (公共信息资源开放平台, capability C7).

Entries whose open class allows it are *published*: each version passes the gate
(:mod:`shudata.portal.gate`: masked with the entry's ``open`` policy, then scanned by the
PII detectors) and only the masked, gate-checked Parquet file of a published version is
ever served — by the public pages, the CKAN-compatible Action API, DCAT and downloads.
"""
