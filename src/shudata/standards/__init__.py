"""L0 national standards as pure functions and reference tables.

Check-digit validators (GB 11643 resident ID, GB 32100 unified social credit code,
GB 11714 organisation code, Luhn) and the 行政区划 code tables (GB/T 2260). Used by
security (department codes), quality (validity rules), privacy (recognisers) and the demo.
Imports nothing from shudata but ``core``.
"""
