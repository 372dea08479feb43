"""Market delivery (交付): fingerprinted offline files and leak tracing, hosted jobs
(托管 / 数据可用不可见) with release rules, and entitlements for online delivery."""
