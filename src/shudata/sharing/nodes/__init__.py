"""Federation between platform nodes (互联互通): identities, signed messages, message logs."""
