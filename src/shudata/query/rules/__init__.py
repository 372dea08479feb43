"""The sandbox's rewrite steps: one small pure function per module, listed in
:data:`shudata.query.sandbox.RULES` in the order they run."""
