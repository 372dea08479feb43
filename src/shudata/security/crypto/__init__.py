"""L1 national cryptography (GM/T): SM2 signatures, SM3 hashing/HMAC, SM4 encryption.

Pure functions over bytes; no database, no web. The only place that touches ``gmssl``
and ``cryptography`` primitives.
"""
