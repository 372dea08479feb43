"""Pure validators the standards package lacks (phone numbers, e-mail, postal codes, dates).

Check-digit validators for resident IDs, credit codes, organisation codes and bank cards live
in :mod:`shudata.standards`; these are the reference the SQL versions are tested against.
"""
