"""Detection: recognizers (pattern + context words + validation) and column classification."""
