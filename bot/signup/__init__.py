"""Signup rules without I/O: validators (ID numbers GB 11643, mobiles, names) and privacy
(masking, ID encryption, keyed hash).

Dependency rule: imports nothing of ours; handlers may import it.
"""
