"""Privacy models (k-anonymity, l-diversity, t-closeness), optimal generalisation and risk."""
