"""C4 数据质量与清洗: declarative rules compiled to SQL, quarantine, cleaning pipelines, scores, reports."""
