"""L0: settings, errors, i18n and small shared types. Imports nothing else from shudata."""
