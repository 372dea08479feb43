"""C1 政务信息资源目录: catalog entries, versions, demand and sharing lists, freshness, search."""
