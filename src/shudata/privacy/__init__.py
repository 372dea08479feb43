"""C5 desensitization and anonymization (数据脱敏 / 去标识化).

Detect (``detect``: recognizers → findings), decide (``policy``: columns/entities →
operators, named profiles), transform (``operators`` compiled to SQL by ``compile``),
and check (``gate``); privacy models and risk (``kanon``) and differential privacy (``dp``).
"""
